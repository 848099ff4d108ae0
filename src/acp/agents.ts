// Known ACP agents by short name. A name expands to the agent's launch command; anything else is taken
// as the command line itself, so a full command (or a preset's command with extra flags) still works.

/** Launch commands of agents that speak ACP over stdio, as their projects document them. */
export const AGENT_PRESETS: Readonly<Record<string, string>> = Object.freeze({
  copilot: 'copilot --acp --stdio',
  claude: 'npx -y @agentclientprotocol/claude-agent-acp',
  codex: 'npx -y @zed-industries/codex-acp',
  gemini: 'gemini --experimental-acp',
  qwen: 'qwen --experimental-acp',
  opencode: 'opencode acp',
  cursor: 'cursor-agent acp',
  goose: 'goose acp',
  kimi: 'kimi acp',
});

/** The seed's default agent. */
export const DEFAULT_AGENT = AGENT_PRESETS.copilot;

/** How an agent is launched: a command line run through the platform shell, or a program and arguments. */
export type AgentCommand = string | readonly string[];

/** Expands a preset name (case-insensitive, surrounding space ignored); other commands pass through. */
export function resolveAgent(agent: AgentCommand, presets: Readonly<Record<string, string>> = AGENT_PRESETS): AgentCommand {
  if (typeof agent !== 'string') return agent;
  const name = agent.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(presets, name) ? presets[name] : agent.trim();
}

/** A one-line rendering of the command, for the job's `command` and for messages. */
export function describeAgent(agent: AgentCommand): string {
  return typeof agent === 'string' ? agent : agent.map((a) => (/[\s"'\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}
