// A spawned process tree: its leader started in a group of its own, one exit to wait for, and one way to
// end it with everything it started. Jobs (through the spawn helper), persistent shells, ACP agents and
// ACP terminals all hold their processes as a ProcessTree; what differs between Windows and POSIX stays in
// platform.ts.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { killLeftovers, killTree, signalTree, spawnProgram, spawnShell, treeRunning } from './platform';

/** How the leader ended: its code or signal, or `error` when it could not be started at all. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/**
 * Ends a process tree if the process that started it dies first (killed outright, with no chance to end
 * it). The server's is its spawn helper (server/jobs/spawner.ts); a library use may have none.
 */
export interface TreeGuard {
  /** Watches the tree led by `pid` until the returned release is called. */
  watch(pid: number): () => void;
}

export interface StartOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdio: StdioOptions;
  /** Watches the tree while it may run. */
  guard?: TreeGuard;
  /**
   * What the leader leaves running in its group when it exits: `kill` ends it at once (a job's or a
   * shell's background processes die with it); `keep` leaves it to `end()`, which gives it the grace.
   */
  leftovers: 'kill' | 'keep';
}

export class ProcessTree {
  /** Resolves once the leader is gone, or could not start (never rejects). */
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  private readonly closed: Promise<void>;
  private unwatch: (() => void) | undefined;

  constructor(
    readonly child: ChildProcess,
    opts: StartOptions,
  ) {
    const pid = child.pid;
    if (pid !== undefined) this.unwatch = opts.guard?.watch(pid);
    // Listened to from the start: 'close' may follow 'exit' at once.
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    this.exited = new Promise((resolve) => {
      // Without a pid the process never ran; later errors (a failed kill) are no exit.
      child.on('error', (error) => {
        if (pid === undefined) resolve((this.exit ??= { code: null, signal: null, error }));
      });
      child.once('exit', (code, signal) => {
        this.exit ??= { code, signal };
        if (pid !== undefined) {
          if (opts.leftovers === 'kill') killLeftovers(pid);
          // Watched until nothing of it is left (end() ends the rest), so the guard never signals a
          // group id the system has given to someone else.
          if (opts.leftovers === 'kill' || !treeRunning(pid, true)) this.release();
        }
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True until the leader exited (or failed to start). */
  alive(): boolean {
    return this.exit === undefined;
  }

  /**
   * Ends the tree: TERM, then KILL after `graceMs` for what is still alive; resolves once the leader is
   * gone. Also ends what a leader that exited by itself left behind.
   */
  async end(graceMs: number): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    if (treeRunning(pid, !this.alive())) await killTree(pid, graceMs);
    await this.exited;
    this.release();
  }

  /**
   * Resolves once the leader exited and its output pipes closed, or `limitMs` after its exit when
   * something that left its group holds them open.
   */
  async drained(limitMs: number): Promise<void> {
    await this.exited;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise((resolve) => (timer = setTimeout(resolve, limitMs)))]);
    clearTimeout(timer);
  }

  private release(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Ends the whole tree at once, without waiting (the process that holds it is going). */
  killNow(): void {
    if (this.child.pid !== undefined) signalTree(this.child.pid, 'SIGKILL');
  }
}

/** Runs `command` through the platform shell as a ProcessTree. */
export function startShell(command: string, opts: StartOptions): ProcessTree {
  return new ProcessTree(spawnShell(command, opts), opts);
}

/** Runs `file` with exactly `args` (found as the platform's users expect: platform.ts) as a ProcessTree. */
export function startProgram(file: string, args: string[], opts: StartOptions): ProcessTree {
  return new ProcessTree(spawnProgram(file, args, opts), opts);
}
