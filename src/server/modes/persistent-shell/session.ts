// A named persistent shell: its seed state (workdir, env), its bootstrap command, the shell process that
// holds its live state, and the order in which its commands run. Commands run one at a time; a command
// sent while another runs waits its turn (first come, first run), as the predecessor's sessions did.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ShellKind } from './catalog';
import { dialectFor, type Dialect } from './dialects';
import { ShellProcess, type StepResult } from './shell-process';

export interface SessionSeed {
  /** Where the shell starts, again after every recreation. */
  workdir: string;
  /** The shell's environment (the server's with the creating request's overlay), again after every recreation. */
  env: NodeJS.ProcessEnv;
}

export interface CommandRequest {
  command: string;
  /** Remembered and run on every new shell process of the session before its next command. */
  bootstrapCommand?: string;
  /** The command is the bootstrap itself (so it is not run twice now). Alone, it makes `command` the bootstrap. */
  bootstrapCurrentCommand?: boolean;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** The command's turn came: the shell's pid and whether a new shell process was started for it. */
  onStart?(info: { pid: number | undefined; freshProcess: boolean }): void;
  /** Ends the command (and so the shell) after this long, ms; the job runner relies on the job's deadline instead. */
  timeoutMs?: number;
}

export interface CommandResult extends Omit<StepResult, 'ending'> {
  /** `cancelled`: ended before its turn came (nothing ran). */
  ending: StepResult['ending'] | 'cancelled';
  timedOut: boolean;
  freshProcess: boolean;
}

export type WriteResult = { ok: true } | { ok: false; reason: string };

export interface CommandHandle {
  readonly done: Promise<CommandResult>;
  /** Ends the command: a waiting one is dropped, a running one is killed with the session's shell. */
  cancel(): void;
  /** Writes to the command's stdin (only while it runs). */
  write(data: string, eof: boolean): WriteResult;
  /** True while the command runs in the shell (false while waiting its turn and after). */
  running(): boolean;
}

export interface ShellSessionInfo {
  sessionKey: string;
  shell: ShellKind;
  status: 'running' | 'idle' | 'stopped';
  createdAt: number;
  lastUsedAt: number;
  lastOutputAt: number | null;
  processAlive: boolean;
  activeCommand: boolean;
  pid: number | null;
  processStartedAt: number | null;
  queuedCommands: number;
  commandsRun: number;
  workdir: string;
}

interface Pending {
  req: CommandRequest;
  resolve(r: CommandResult): void;
  state: 'waiting' | 'running' | 'done';
  cancelled: boolean;
  timedOut: boolean;
  freshProcess: boolean;
  timer?: NodeJS.Timeout;
}

export class ShellSession {
  readonly createdAt = Date.now() / 1000;
  lastUsedAt = this.createdAt;
  lastOutputAt: number | null = null;
  private readonly dialect: Dialect;
  private readonly dir: string;
  private proc: ShellProcess | undefined;
  private bootstrap: string | undefined;
  private bootstrapApplied = true;
  private readonly queue: Pending[] = [];
  private active: Pending | undefined;
  private commandsRun = 0;
  private closed = false;

  constructor(
    readonly key: string,
    readonly shell: ShellKind,
    private readonly executable: string,
    readonly seed: SessionSeed,
    private readonly opts: { killGraceMs: number; tmpDir: string },
  ) {
    this.dialect = dialectFor(shell);
    this.dir = mkdtempSync(join(opts.tmpDir, 'agent-runtime-shell-')); // 0700: the terminators live here
  }

  run(req: CommandRequest): CommandHandle {
    let resolve!: (r: CommandResult) => void;
    const done = new Promise<CommandResult>((r) => (resolve = r));
    const p: Pending = { req, resolve, state: 'waiting', cancelled: false, timedOut: false, freshProcess: false };
    if (this.closed) {
      p.state = 'done';
      resolve({ exitCode: null, ending: 'error', error: 'the session was deleted', timedOut: false, freshProcess: false });
    } else {
      if (req.timeoutMs !== undefined) p.timer = setTimeout(() => this.cancel(p, true), req.timeoutMs);
      this.queue.push(p);
      this.lastUsedAt = Date.now() / 1000;
      this.next();
    }
    return {
      done,
      cancel: () => this.cancel(p, false),
      write: (data, eof) => this.write(p, data, eof),
      running: () => p.state === 'running',
    };
  }

  busy(): boolean {
    return this.active !== undefined || this.queue.length > 0;
  }

  processAlive(): boolean {
    return this.proc?.alive() ?? false;
  }

  info(): ShellSessionInfo {
    const alive = this.processAlive();
    const activeCommand = this.active !== undefined;
    return {
      sessionKey: this.key,
      shell: this.shell,
      status: activeCommand ? 'running' : alive ? 'idle' : 'stopped',
      createdAt: this.createdAt,
      lastUsedAt: this.lastUsedAt,
      lastOutputAt: this.lastOutputAt,
      processAlive: alive,
      activeCommand,
      pid: alive ? (this.proc?.pid ?? null) : null,
      processStartedAt: alive ? (this.proc?.startedAt ?? null) : null,
      queuedCommands: this.queue.length,
      commandsRun: this.commandsRun,
      workdir: this.seed.workdir,
    };
  }

  /** Ends the session for good: waiting commands are dropped, the running one and the shell are killed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, { exitCode: null, ending: 'cancelled', error: 'the session was deleted' });
    await this.proc?.kill(this.opts.killGraceMs);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private next(): void {
    if (this.active || this.closed) return;
    const p = this.queue.shift();
    if (!p) return;
    this.active = p;
    p.state = 'running';
    void this.execute(p).then(
      (r) => this.settle(p, r),
      (err: Error) => this.settle(p, { exitCode: null, ending: 'error', error: err.message }),
    );
  }

  private settle(p: Pending, r: StepResult | (Omit<StepResult, 'ending'> & { ending: 'cancelled' })): void {
    if (p.state === 'done') return;
    clearTimeout(p.timer);
    p.state = 'done';
    if (this.active === p) this.active = undefined;
    this.lastUsedAt = Date.now() / 1000;
    const error = r.error ?? (this.closed && !p.cancelled ? 'the session was deleted' : undefined);
    p.resolve({ ...r, ...(error ? { error } : {}), timedOut: p.timedOut, freshProcess: p.freshProcess });
    this.next();
  }

  private async execute(p: Pending): Promise<StepResult> {
    const { req } = p;
    if (req.bootstrapCommand !== undefined && req.bootstrapCommand !== '') {
      this.bootstrap = req.bootstrapCommand;
      this.bootstrapApplied = false;
    } else if (req.bootstrapCurrentCommand) {
      this.bootstrap = req.command;
    }
    p.freshProcess = this.ensureProcess();
    const proc = this.proc!;
    req.onStart?.({ pid: proc.pid, freshProcess: p.freshProcess });
    this.commandsRun++;
    const sinks = {
      stdout: (c: Buffer) => req.onStdout(c),
      stderr: (c: Buffer) => req.onStderr(c),
    };
    if (this.bootstrap !== undefined && !this.bootstrapApplied && !req.bootstrapCurrentCommand) {
      this.bootstrapApplied = true; // once per shell process, whatever its outcome (as the predecessor)
      // The bootstrap's stdout is not the command's output; its errors are shown, as they explain a failure.
      const boot = await proc.run(this.bootstrap, { stdout: () => {}, stderr: sinks.stderr });
      if (boot.ending !== 'exit') return boot;
      if (boot.exitCode !== 0) {
        const error = `bootstrap command failed with exit code ${boot.exitCode}; the command was not run`;
        req.onStderr(Buffer.from(`[agent-runtime: ${error}]\n`));
        return { exitCode: boot.exitCode, ending: 'exit', error };
      }
    }
    if (req.bootstrapCurrentCommand) this.bootstrapApplied = true;
    return proc.run(req.command, sinks);
  }

  /** Starts a shell process if the session has none alive; true when it did. */
  private ensureProcess(): boolean {
    if (this.proc?.alive()) return false;
    if (!isDirectory(this.seed.workdir)) throw new Error(`the session's workdir no longer exists: ${this.seed.workdir}`);
    this.proc = new ShellProcess(this.executable, this.dialect, this.dir, {
      cwd: this.seed.workdir,
      env: this.seed.env,
      onOutput: () => {
        this.lastOutputAt = this.lastUsedAt = Date.now() / 1000;
      },
    });
    this.bootstrapApplied = this.bootstrap === undefined;
    return true;
  }

  private cancel(p: Pending, timedOut: boolean): void {
    if (p.state === 'done') return;
    p.cancelled = true;
    p.timedOut ||= timedOut;
    if (p.state === 'waiting') {
      this.queue.splice(this.queue.indexOf(p), 1);
      this.settle(p, { exitCode: null, ending: 'cancelled' });
      return;
    }
    // The command's processes cannot be told apart from the shell's own, so the whole shell goes;
    // the next command gets a new one with the seed state and the bootstrap replayed.
    void this.proc?.kill(this.opts.killGraceMs);
  }

  private write(p: Pending, data: string, eof: boolean): WriteResult {
    if (p.state === 'waiting') return { ok: false, reason: 'the command is waiting for the session to finish an earlier command' };
    if (p.state === 'done' || !this.proc?.alive()) return { ok: false, reason: 'process not running' };
    if (eof) return { ok: false, reason: "a persistent shell's stdin is shared by its commands and cannot be closed; cancel the command instead" };
    if (!this.dialect.separateInput && !/^[\r\n]*$/.test(data)) {
      return { ok: false, reason: 'PowerShell and cmd sessions read their commands from stdin, so only a nudge (a newline) can be written' };
    }
    this.proc.input(data);
    this.lastUsedAt = Date.now() / 1000;
    return { ok: true };
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
