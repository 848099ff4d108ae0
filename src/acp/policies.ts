// Who answers the agent's `session/request_permission`: a policy decides allow or reject (or names an
// option), and the client turns that into one of the options the agent offered, picked by its kind.
import type { PermissionOption, PermissionOptionKind } from './protocol';
import type { ToolCallRecord } from './tool-calls';
import { commandLines, commandReachesOutside } from './command-reach';
import { isWithin } from './paths';

/** What a policy knows when it decides. */
export interface PermissionContext {
  /** Ours, unique within the client; an interactive UI answers by it. */
  requestId: string;
  sessionId: string;
  /** Everything known about the call, the request's own `toolCall` merged over earlier updates. */
  toolCall: ToolCallRecord;
  /** Real paths the call mentioned in any of its fragments, working directories included. */
  paths: string[];
  /** Real working directories the call mentioned (also listed in `paths`). */
  cwds: string[];
  options: PermissionOption[];
  /** The real path of the client's workdir. */
  workdir: string;
  /** Aborted when the turn is cancelled or the client closes; the answer is then `cancelled`. */
  signal: AbortSignal;
}

export type PermissionDecision =
  | { outcome: 'allow' | 'reject'; reason: string }
  /** A person picked one of the offered options by its id. */
  | { optionId: string; reason: string }
  | { outcome: 'cancelled'; reason: string };

export interface PermissionPolicy {
  /** Shown in the events next to every decision. */
  readonly name: string;
  decide(ctx: PermissionContext): PermissionDecision | Promise<PermissionDecision>;
}

/** Rejects everything: the library's default, safe when nobody said otherwise. */
export class DenyAll implements PermissionPolicy {
  readonly name = 'deny';
  decide(): PermissionDecision {
    return { outcome: 'reject', reason: 'the deny-all policy rejects every request' };
  }
}

/** Kinds that only look: approved even when nothing tells where they reach. */
export const READ_ONLY_KINDS: ReadonlySet<string> = new Set(['read', 'search', 'think']);

/**
 * Approves what stays inside the workdir and rejects what leaves it, judged from every path and working
 * directory the call mentioned, and from the text of any command it runs: a command without a cwd runs in
 * the session's cwd (the workdir), so it is approved unless its text reaches outside (an absolute path,
 * `~`, a `..` that climbs out, a `cd` elsewhere, a redirect there). A call that names nothing at all is
 * approved only for read-only kinds. A guard rail against mistakes, not a sandbox (docs/acp.md).
 */
export class WorkdirApprove implements PermissionPolicy {
  readonly name = 'workdir';

  decide(ctx: PermissionContext): PermissionDecision {
    const outside = ctx.paths.filter((p) => !isWithin(ctx.workdir, p));
    if (outside.length > 0) return { outcome: 'reject', reason: `reaches outside the workdir: ${outside.join(', ')}` };
    const kind = ctx.toolCall.kind;
    const commands = commandLines(ctx.toolCall.rawInput);
    // Gemini CLI (and Claude Code before its input arrives) give an execute call's command only as its title
    if (commands.length === 0 && kind === 'execute' && ctx.toolCall.title) commands.push(ctx.toolCall.title);
    if (commands.length > 0) {
      const cwd = ctx.cwds[0] ?? ctx.workdir;
      const reach = commands.flatMap((c) => commandReachesOutside(c, cwd, ctx.workdir));
      if (reach.length > 0) {
        const what = reach.map((r) => (r.how === 'cd' ? `${r.word} (${r.path})` : r.path === r.word ? r.path : `${r.word} (${r.path})`));
        return { outcome: 'reject', reason: `the command reaches outside the workdir: ${unique(what).join(', ')}` };
      }
      const where = ctx.cwds[0] ? `in ${cwd}` : `in the session's cwd ${cwd}`;
      return { outcome: 'allow', reason: `the command runs ${where} and names nothing outside the workdir` };
    }
    if (ctx.paths.length > 0) return { outcome: 'allow', reason: `stays inside the workdir: ${ctx.paths.join(', ')}` };
    if (kind && READ_ONLY_KINDS.has(kind)) return { outcome: 'allow', reason: `read-only kind "${kind}" names no path` };
    return { outcome: 'reject', reason: `cannot tell where a "${kind ?? 'unknown'}" call reaches: it names no path, no cwd and no command` };
  }
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

export interface InteractiveOptions {
  /** How long a person has to answer; then the request is rejected. Default 10 min; bound 1 s–24 h. */
  deadlineMs?: number;
  name?: string;
}

export const DEFAULT_PERMISSION_DEADLINE_MS = 10 * 60_000;
export const MAX_PERMISSION_DEADLINE_MS = 24 * 3_600_000;

/**
 * A person decides, through `ask` (the API's pending permissions, an editor's dialog…). No answer by the
 * deadline rejects; a cancelled turn answers `cancelled`.
 */
export class InteractivePolicy implements PermissionPolicy {
  readonly name: string;
  private readonly deadlineMs: number;

  constructor(
    private readonly ask: (ctx: PermissionContext) => Promise<PermissionDecision>,
    options: InteractiveOptions = {},
  ) {
    this.name = options.name ?? 'ask';
    this.deadlineMs = boundedInt(options.deadlineMs ?? DEFAULT_PERMISSION_DEADLINE_MS, 1000, MAX_PERMISSION_DEADLINE_MS, 'deadlineMs');
  }

  decide(ctx: PermissionContext): Promise<PermissionDecision> {
    return new Promise((resolve) => {
      const finish = (d: PermissionDecision) => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        resolve(d);
      };
      const onAbort = () => finish({ outcome: 'cancelled', reason: 'the turn was cancelled' });
      const timer = setTimeout(
        () => finish({ outcome: 'reject', reason: `no answer within ${Math.round(this.deadlineMs / 1000)} s (deadlineMs)` }),
        this.deadlineMs,
      );
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.ask(ctx).then(finish, (err: Error) => finish({ outcome: 'reject', reason: `asking failed: ${err.message}` }));
    });
  }
}

const ALLOW_ORDER: PermissionOptionKind[] = ['allow_once', 'allow_always'];
const REJECT_ORDER: PermissionOptionKind[] = ['reject_once', 'reject_always'];

/** The option an allow or reject stands for: the narrowest of its kind, never blindly the first. */
export function pickOption(options: PermissionOption[], want: 'allow' | 'reject'): PermissionOption | undefined {
  for (const kind of want === 'allow' ? ALLOW_ORDER : REJECT_ORDER) {
    const found = options.find((o) => o.kind === kind);
    if (found) return found;
  }
  return undefined;
}

export function boundedInt(v: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${v})`);
  return v;
}
