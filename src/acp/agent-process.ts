// The agent as a process: launched in its own process group with the env overlay, stdio piped, stderr
// kept as a bounded tail, and ended as a whole group.
import type { ChildProcess } from 'node:child_process';
import { killTree, spawnProgram, spawnShell, treeAlive, isWindows } from '../common/platform';
import type { AgentCommand } from './agents';
import { ByteTail } from './byte-tail';
import { execIfSimple } from './shell';

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

export interface AgentProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stderrTailBytes: number;
  onStderr?: (chunk: Buffer) => void;
}

/**
 * Ends a process tree if the process that started it dies first (killed outright, with no chance to end
 * it). The library works without one; the server installs its spawn helper's (jobs/spawner.ts).
 */
export interface TreeGuard {
  /** Watches the tree led by `pid` until the returned release is called. */
  watch(pid: number): () => void;
}

let treeGuard: TreeGuard | undefined;

/** The guard of every agent started from now on (undefined: none). */
export function setAgentTreeGuard(guard: TreeGuard | undefined): void {
  treeGuard = guard;
}

export class AgentProcess {
  readonly child: ChildProcess;
  readonly stderr: ByteTail;
  /** Resolves once the process is gone (never rejects). */
  readonly exited: Promise<AgentExit>;
  /** Resolves once its stdout ended (the agent can no longer say anything). */
  readonly stdoutEnded: Promise<void>;
  private exit: AgentExit | undefined;
  private readonly release: () => void;

  constructor(command: AgentCommand, opts: AgentProcessOptions) {
    const stdio: ['pipe', 'pipe', 'pipe'] = ['pipe', 'pipe', 'pipe'];
    this.child =
      typeof command === 'string'
        ? spawnShell(execIfSimple(command), { cwd: opts.cwd, env: opts.env, stdio })
        : spawnProgram(command[0], command.slice(1), { cwd: opts.cwd, env: opts.env, stdio });
    this.stderr = new ByteTail(opts.stderrTailBytes);
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr.append(chunk);
      opts.onStderr?.(chunk);
    });
    this.child.stdin!.on('error', () => {}); // EPIPE once the agent is gone: reported as its exit
    this.stdoutEnded = new Promise((resolve) => {
      this.child.stdout!.once('end', resolve);
      this.child.stdout!.once('close', resolve);
    });
    const pid = this.child.pid;
    this.release = pid !== undefined && treeGuard ? treeGuard.watch(pid) : () => {};
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => resolve((this.exit ??= { code: null, signal: null, error })));
      this.child.once('exit', (code, signal) => {
        // Watched until nothing of its group is left (kill() ends what it left), so the guard never
        // signals a group id the system has given to someone else.
        if (pid !== undefined && (isWindows || !treeAlive(pid))) this.release();
        resolve((this.exit ??= { code, signal }));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The exit, once known. */
  get exitInfo(): AgentExit | undefined {
    return this.exit;
  }

  alive(): boolean {
    return this.exit === undefined;
  }

  /**
   * Ends the agent and everything it started in its group: TERM, then KILL after `graceMs`. Also run after
   * the agent exited by itself, since what it left behind in its group must not outlive the session.
   */
  async kill(graceMs: number): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    if (isWindows ? this.alive() : treeAlive(pid)) await killTree(pid, graceMs);
    await this.exited;
    this.release();
  }

  /** The last lines of stderr, for error messages. */
  stderrExcerpt(maxChars = 500): string {
    const text = this.stderr.text().trimEnd();
    return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
  }
}

/** Describes how the agent ended, for error messages. */
export function describeExit(exit: AgentExit): string {
  if (exit.error) return `could not be started: ${exit.error.message}`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}
