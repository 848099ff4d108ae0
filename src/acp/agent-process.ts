// The agent as a process: launched in its own process group with the env overlay, stdio piped, stderr
// kept as a bounded tail, and ended as a whole group.
import type { ChildProcess } from 'node:child_process';
import { startProgram, startShell, type ProcessExit, type ProcessTree, type StartOptions, type TreeGuard } from '../common/process';
import type { AgentCommand } from './agents';
import { ByteTail } from './byte-tail';
import { execIfSimple } from './shell';

export interface AgentProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stderrTailBytes: number;
  onStderr?: (chunk: Buffer) => void;
}

let treeGuard: TreeGuard | undefined;

/**
 * The guard of every agent, and every terminal an agent asks for, started from now on (undefined: none).
 * The library works without one; the server installs its spawn helper's (jobs/spawner.ts).
 */
export function setAgentTreeGuard(guard: TreeGuard | undefined): void {
  treeGuard = guard;
}

export function agentTreeGuard(): TreeGuard | undefined {
  return treeGuard;
}

export class AgentProcess {
  readonly child: ChildProcess;
  readonly stderr: ByteTail;
  /** Resolves once the process is gone (never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** Resolves once its stdout ended (the agent can no longer say anything). */
  readonly stdoutEnded: Promise<void>;
  private readonly tree: ProcessTree;

  constructor(command: AgentCommand, opts: AgentProcessOptions) {
    // What the agent leaves in its group at exit is ended by kill(), with the grace, when the session ends.
    const start: StartOptions = { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], guard: treeGuard, leftovers: 'keep' };
    this.tree = typeof command === 'string' ? startShell(execIfSimple(command), start) : startProgram(command[0], command.slice(1), start);
    this.child = this.tree.child;
    this.exited = this.tree.exited;
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
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  alive(): boolean {
    return this.tree.alive();
  }

  /**
   * Ends the agent and everything it started in its group: TERM, then KILL after `graceMs`. Also run after
   * the agent exited by itself, since what it left behind in its group must not outlive the session.
   */
  kill(graceMs: number): Promise<void> {
    return this.tree.end(graceMs);
  }

  /** The last lines of stderr, for error messages. */
  stderrExcerpt(maxChars = 500): string {
    const text = this.stderr.text().trimEnd();
    return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
  }
}

/** Describes how the agent ended, for error messages. */
export function describeExit(exit: ProcessExit): string {
  if (exit.error) return `could not be started: ${exit.error.message}`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}
