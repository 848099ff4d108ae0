// `mode: "persistent_shell"`: a job runs its command inside a named persistent shell session, created on
// first use with the job's workdir and env as its seed state (the predecessor's semantics: later jobs' workdir
// and env do not change an existing session).
import type { RouteSpec } from '../../http/route-spec';
import { BadRequest } from '../../errors';
import type { Logger } from '../../log';
import { optionalBoolean, optionalString } from '../../jobs/validate';
import type { CommonSpec, JobContext, JobOutcome, ModeRunner, RunningJob } from '../../jobs/types';
import { acceptedShellNames, canonicalShell, ShellCatalog, type ShellKind } from './catalog';
import { SessionManager, type SessionLimits } from './manager';
import { sessionRoutes } from './routes';
import { SessionTerminal, type SessionTerminalRequest } from './terminal-hook';

export interface PersistentShellSpec extends CommonSpec {
  sessionKey: string;
  shell: ShellKind;
  command: string;
  bootstrapCommand?: string;
  bootstrapCurrentCommand: boolean;
}

/** Longest `sessionKey`, characters (it appears in URLs and logs). */
export const MAX_SESSION_KEY_LENGTH = 256;

export class PersistentShellRunner implements ModeRunner<PersistentShellSpec> {
  readonly mode = 'persistent_shell' as const;
  readonly sessions: SessionManager;

  constructor(limits: SessionLimits, logger?: Logger, catalog = new ShellCatalog()) {
    this.sessions = new SessionManager(catalog, limits, logger);
  }

  parse(body: Record<string, unknown>, common: CommonSpec): PersistentShellSpec {
    const command = body.command;
    if (command === undefined || command === null || command === '') throw new BadRequest('command is required');
    if (typeof command !== 'string') throw new BadRequest('command must be a string');
    if (command.includes('\0')) throw new BadRequest('command must not contain NUL characters');
    const sessionKey = parseSessionKey(body.sessionKey);
    const shell = this.parseShell(body.shell);
    const bootstrapCommand = optionalString(body, 'bootstrapCommand');
    if (bootstrapCommand?.includes('\0')) throw new BadRequest('bootstrapCommand must not contain NUL characters');
    const bootstrapCurrentCommand = optionalBoolean(body, 'bootstrapCurrentCommand') ?? false;
    this.sessions.check(sessionKey, shell);
    return { ...common, sessionKey, shell, command, bootstrapCommand: bootstrapCommand || undefined, bootstrapCurrentCommand };
  }

  describe(spec: PersistentShellSpec) {
    return { command: spec.command, fields: { sessionKey: spec.sessionKey, shell: spec.shell } };
  }

  start(spec: PersistentShellSpec, ctx: JobContext): RunningJob {
    const handle = this.sessions.run(
      spec.sessionKey,
      spec.shell,
      { workdir: spec.workdir, env: ctx.env },
      {
        command: spec.command,
        bootstrapCommand: spec.bootstrapCommand,
        bootstrapCurrentCommand: spec.bootstrapCurrentCommand,
        onStdout: (c) => ctx.appendStdout(c),
        onStderr: (c) => ctx.appendStderr(c),
        onStart: ({ pid, freshProcess }) => {
          ctx.setPid(pid);
          ctx.setFields({ shellStarted: freshProcess });
        },
      },
    );
    let cancelled = false; // by the job (cancel, timeout, shutdown): the job store words the outcome
    const done = handle.done.then((r): JobOutcome => {
      const fields = { shellStarted: r.freshProcess };
      if (cancelled) return { status: 'failed', endReason: 'cancelled', exitCode: null, fields };
      if (r.ending !== 'exit' && r.ending !== 'shell-exit') {
        return { status: 'failed', endReason: 'error', exitCode: r.exitCode ?? null, error: r.error ?? 'the command was ended', fields };
      }
      const outcome: JobOutcome = { status: r.exitCode === 0 ? 'completed' : 'failed', endReason: 'exit', exitCode: r.exitCode, fields };
      if (r.error) outcome.error = r.error;
      return outcome;
    });
    return {
      done,
      cancel: () => {
        cancelled = true;
        handle.cancel();
      },
      write: (data, eof) => handle.write(data, eof),
      alive: () => handle.running(),
    };
  }

  health(): Record<string, unknown> {
    const catalog = this.sessions.catalog;
    return {
      persistent_shell_supported: catalog.available().length > 0,
      persistent_shell_shells: catalog.availability(),
      persistent_shell_default_shell: catalog.defaultShell(),
      persistent_shell_sessions: this.sessions.size(),
      persistent_shell_max_sessions: this.sessions.limits.maxSessions,
      persistent_shell_idle_timeout_seconds: this.sessions.limits.idleTimeoutSeconds,
    };
  }

  activeCount(): number {
    return this.sessions.liveCount();
  }

  routes(): RouteSpec[] {
    return sessionRoutes(this.sessions);
  }

  /** For ACP jobs that name a persistent session: runs the agent's `terminal/create` inside it. */
  openTerminal(req: SessionTerminalRequest): SessionTerminal {
    return new SessionTerminal(this.sessions, req);
  }

  dispose(): Promise<void> {
    return this.sessions.closeAll();
  }

  private parseShell(v: unknown): ShellKind {
    if (v === undefined || v === null || v === '') throw new BadRequest('shell is required');
    if (typeof v !== 'string') throw new BadRequest('shell must be a string');
    const kind = canonicalShell(v);
    if (!kind) throw new BadRequest(`unsupported shell: ${v}`, { supported_shells: acceptedShellNames() });
    if (!this.sessions.catalog.executable(kind)) {
      throw new BadRequest(`shell is not available on this machine: ${v}`, { available_shells: this.sessions.catalog.available() });
    }
    return kind;
  }
}

function parseSessionKey(v: unknown): string {
  if (v === undefined || v === null || v === '') throw new BadRequest('sessionKey is required');
  if (typeof v !== 'string') throw new BadRequest('sessionKey must be a string');
  if (v.length > MAX_SESSION_KEY_LENGTH) throw new BadRequest(`sessionKey must be at most ${MAX_SESSION_KEY_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new BadRequest('sessionKey must not contain control characters');
  return v;
}
