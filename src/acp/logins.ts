// How each known agent is logged in on a machine without a person at a browser: what to run once, or what
// to set. Used in the error of a job whose agent needs a login, in docs/acp.md and in /health.
import type { AuthMethod } from './protocol';

export interface LoginHint {
  /** The preset name. */
  preset: string;
  /** Matched against the agent's `agentInfo` name/title and its command line. */
  match: RegExp;
  /** What to run once on the machine (as the user the server runs as), or null. */
  run: string | null;
  /** Variables that log it in without anything stored. */
  set: string;
}

export const LOGIN_HINTS: readonly LoginHint[] = Object.freeze([
  {
    preset: 'copilot',
    match: /copilot/i,
    run: '`copilot login` (a device code: open the URL it prints on any machine)',
    set: 'COPILOT_GITHUB_TOKEN (or GH_TOKEN / GITHUB_TOKEN): a fine-grained token with the "Copilot Requests" permission; or your own model: COPILOT_PROVIDER_BASE_URL, COPILOT_PROVIDER_TYPE, COPILOT_PROVIDER_API_KEY, COPILOT_MODEL',
  },
  {
    preset: 'claude',
    match: /claude/i,
    run: '`claude setup-token` on any machine with a browser, then set CLAUDE_CODE_OAUTH_TOKEN to what it prints',
    set: 'ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN); as root also IS_SANDBOX=1',
  },
  {
    preset: 'codex',
    match: /codex/i,
    run: '`codex login --device-auth` (a device code), or `printenv OPENAI_API_KEY | codex login --with-api-key`',
    set: 'OPENAI_API_KEY or CODEX_API_KEY',
  },
  {
    preset: 'gemini',
    match: /gemini/i,
    run: null,
    set: 'GEMINI_API_KEY; or GOOGLE_API_KEY with GOOGLE_GENAI_USE_VERTEXAI=true (Vertex AI)',
  },
]);

export function loginHintFor(agentName: string, command: string): LoginHint | undefined {
  return LOGIN_HINTS.find((h) => h.match.test(agentName)) ?? LOGIN_HINTS.find((h) => h.match.test(command));
}

/** One line per auth method: id, name, kind, and the command a terminal method runs, where it says. */
export function describeAuthMethods(methods: AuthMethod[]): string {
  if (methods.length === 0) return 'none';
  return methods
    .map((m) => {
      const raw = m as AuthMethod & { type?: string; description?: string | null; args?: unknown; _meta?: Record<string, unknown> | null };
      const bits = [raw.type ?? 'agent'];
      if (raw.description) bits.push(raw.description);
      const terminal = raw._meta?.['terminal-auth'] as { command?: unknown; args?: unknown } | undefined;
      const args = Array.isArray(raw.args) ? raw.args : Array.isArray(terminal?.args) ? terminal!.args : undefined;
      if (typeof terminal?.command === 'string' || args)
        bits.push(`runs: ${[terminal?.command, ...(args ?? [])].filter((x) => typeof x === 'string').join(' ')}`);
      return `"${m.id}" (${m.name ?? m.id}; ${bits.join('; ')})`;
    })
    .join(', ');
}
