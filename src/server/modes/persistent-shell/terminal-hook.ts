// The hook that lets an ACP job run the agent's `terminal/create` inside a named persistent session
// (`persistent_session_key`, `persistent_shell`), shaped after ACP's terminal methods: output so far
// (`terminal/output`), wait for the exit (`terminal/wait_for_exit`), kill (`terminal/kill`) and release
// (`terminal/release`). The ACP side maps its requests onto this; nothing here knows ACP's wire.
import { BadRequest } from '../../errors';
import { acceptedShellNames, canonicalShell, type ShellKind } from './catalog';
import { quoteFor } from './dialects';
import type { SessionManager } from './manager';
import type { CommandHandle } from './session';

/** Output kept per terminal when the agent gives no `outputByteLimit`, bytes (memory stays bounded). */
export const DEFAULT_TERMINAL_OUTPUT_BYTES = 1 << 20;

export interface SessionTerminalRequest {
  sessionKey: string;
  /** Any name `/exec` accepts in `shell` (`bash`, `pwsh`, `powershell.exe`…); default: the session's, else the machine's default. */
  shell?: string;
  command: string;
  /** Appended to `command`, each quoted for the session's shell. */
  args?: string[];
  /**
   * The session's seed state when this call creates it (as `workdir`/`env` of `/exec`); an existing
   * session keeps its own, so the agent's commands see what its bootstrap set up.
   */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Output kept, bytes, cut from the start at a character boundary (ACP's rule). */
  outputByteLimit?: number;
}

export interface TerminalExit {
  exitCode: number | null;
  signal: string | null;
}

/** A command of an ACP terminal, running (or waiting its turn) in a named persistent session. */
export class SessionTerminal {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = false;
  private exit: TerminalExit | null = null;
  private readonly handle: CommandHandle;
  private readonly exited: Promise<TerminalExit>;

  constructor(sessions: SessionManager, req: SessionTerminalRequest) {
    const shell = req.shell ? parseShell(req.shell) : (sessions.get(req.sessionKey)?.shell ?? defaultShell(sessions));
    const limit = req.outputByteLimit ?? DEFAULT_TERMINAL_OUTPUT_BYTES;
    const keep = (c: Buffer) => this.keep(c, limit);
    this.handle = sessions.run(
      req.sessionKey,
      shell,
      { workdir: req.cwd, env: req.env },
      {
        command: commandLine(shell, req.command, req.args ?? []),
        onStdout: keep,
        onStderr: keep,
      },
    );
    this.exited = this.handle.done.then((r) => {
      const killed = r.ending === 'killed' || r.ending === 'cancelled';
      this.exit = { exitCode: killed ? null : r.exitCode, signal: killed ? 'SIGTERM' : null };
      if (r.ending === 'error' && r.error) this.keep(Buffer.from(`${r.error}\n`), limit);
      return this.exit;
    });
  }

  /** `terminal/output`: the output so far, whether its start was cut, and the exit once there is one. */
  output(): { output: string; truncated: boolean; exitStatus: TerminalExit | null } {
    return { output: decodeFromBoundary(Buffer.concat(this.chunks)), truncated: this.dropped, exitStatus: this.exit };
  }

  /** `terminal/wait_for_exit`. */
  waitForExit(): Promise<TerminalExit> {
    return this.exited;
  }

  /** `terminal/kill`: ends the command (and so the session's shell, recreated on its next command with seed state and bootstrap). */
  kill(): void {
    this.handle.cancel();
  }

  /** `terminal/release`: kills the command if it still runs and lets go of the output. */
  release(): void {
    if (this.exit === null) this.handle.cancel();
    this.chunks = [];
    this.bytes = 0;
  }

  private keep(chunk: Buffer, limit: number): void {
    this.chunks.push(Buffer.from(chunk));
    this.bytes += chunk.length;
    if (this.bytes <= limit) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(all.length - limit)];
    this.bytes = limit;
    this.dropped = true;
  }
}

/** `command` and its `args` as one command line of `shell`. */
export function commandLine(shell: ShellKind, command: string, args: string[]): string {
  if (args.length === 0) return command;
  // PowerShell needs the call operator to run a quoted program name with arguments.
  const head = shell === 'pwsh' || shell === 'powershell' ? `& ${quoteFor(shell, command)}` : command;
  return [head, ...args.map((a) => quoteFor(shell, a))].join(' ');
}

function defaultShell(sessions: SessionManager): ShellKind {
  const kind = sessions.catalog.defaultShell();
  if (!kind) throw new BadRequest('no shell for persistent sessions is installed on this machine');
  return kind;
}

function parseShell(name: string): ShellKind {
  const kind = canonicalShell(name);
  if (!kind) throw new BadRequest(`unsupported shell: ${name}`, { supported_shells: acceptedShellNames() });
  return kind;
}

/** UTF-8 text of bytes whose start may have been cut inside a character: the partial character is skipped. */
function decodeFromBoundary(buf: Buffer): string {
  let start = 0;
  while (start < buf.length && start < 3 && (buf[start] & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}
