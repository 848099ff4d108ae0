// `terminal/*`: commands the agent runs through the client. Each runs in its own process group (so kill
// reaches what it started) with the env overlay, its output kept within `outputByteLimit` (oldest bytes
// dropped at a character boundary). A host can supply its own `TerminalFactory`, e.g. to run the agent's
// commands in a named persistent shell instead of a fresh process.
import { ResponseError } from 'vscode-jsonrpc/node';
import { isWindows } from '../common/platform';
import { startProgram, startShell, type ProcessTree, type StartOptions } from '../common/process';
import { agentTreeGuard } from './agent-process';
import { ByteTail } from './byte-tail';
import { execIfSimple } from './shell';
import type { TerminalEvent } from './events';
import type { Workdir } from './paths';
import { ErrorCode, type CreateTerminalRequest, type TerminalExitStatus, type TerminalOutputResponse } from './protocol';

/** What the agent asked to run, checked and completed by the client. */
export interface TerminalLaunch {
  sessionId: string;
  command: string;
  /** Empty: `command` is a command line for the platform shell. */
  args: string[];
  /** The client's environment with the agent's `env` entries applied. */
  env: NodeJS.ProcessEnv;
  /** Absolute, inside the workdir. */
  cwd: string;
  /** Output kept, bytes: the agent's `outputByteLimit` capped by the client's `terminalOutputBytes`. */
  outputByteLimit: number;
}

/** A running (or finished) command as the client drives it. */
export interface AcpTerminal {
  /** Output so far, `truncated` when old bytes were dropped; `exitStatus` once it ended. */
  output(): TerminalOutputResponse;
  waitForExit(): Promise<TerminalExitStatus>;
  /** Ends the command; the terminal stays readable. */
  kill(): Promise<void>;
  /** Ends the command if still running and frees what it holds. */
  release(): Promise<void>;
}

/** Makes the terminal for a `terminal/create`; the default runs a fresh process. */
export type TerminalFactory = (launch: TerminalLaunch) => AcpTerminal | Promise<AcpTerminal>;

export interface TerminalManagerOptions {
  workdir: Workdir;
  env: NodeJS.ProcessEnv;
  factory?: TerminalFactory;
  maxTerminals: number;
  /** Cap of any terminal's output, and the limit when the agent gives none. */
  maxOutputBytes: number;
  killGraceMs: number;
  emit: (e: TerminalEvent) => void;
}

export class TerminalManager {
  private readonly terminals = new Map<string, AcpTerminal>();
  private seq = 0;

  constructor(private readonly opts: TerminalManagerOptions) {}

  async create(params: CreateTerminalRequest): Promise<{ terminalId: string }> {
    if (typeof params?.command !== 'string' || params.command === '') throw invalid('command must be a non-empty string');
    const args = Array.isArray(params.args) ? params.args.map(String) : [];
    const { path: cwd, inside } = this.opts.workdir.locate(params.cwd ?? this.opts.workdir.root);
    const command = [params.command, ...args].join(' ');
    if (!inside) return this.refuse(command, cwd, `cwd is outside the workdir ${this.opts.workdir.root}`);
    if (this.terminals.size >= this.opts.maxTerminals) {
      return this.refuse(command, cwd, `${this.opts.maxTerminals} terminals are open already (maxTerminals)`);
    }
    const env = { ...this.opts.env };
    for (const e of params.env ?? []) if (e && typeof e.name === 'string') env[e.name] = String(e.value ?? '');
    const limit = Math.min(params.outputByteLimit ?? this.opts.maxOutputBytes, this.opts.maxOutputBytes);
    const launch: TerminalLaunch = { sessionId: params.sessionId, command: params.command, args, env, cwd, outputByteLimit: Math.max(0, limit) };
    const factory = this.opts.factory ?? ((l: TerminalLaunch) => new ProcessTerminal(l, this.opts.killGraceMs));
    let terminal: AcpTerminal;
    try {
      terminal = await factory(launch);
    } catch (err) {
      return this.refuse(command, cwd, err instanceof Error ? err.message : String(err));
    }
    const terminalId = `term-${++this.seq}`;
    this.terminals.set(terminalId, terminal);
    this.opts.emit({ type: 'terminal', op: 'create', terminalId, command, cwd });
    void terminal.waitForExit().then(
      (s) => this.opts.emit({ type: 'terminal', op: 'exit', terminalId, exitCode: s.exitCode ?? null, signal: s.signal ?? null }),
      () => {},
    );
    return { terminalId };
  }

  output(params: { terminalId: string }): TerminalOutputResponse {
    return this.find(params).output();
  }

  async waitForExit(params: { terminalId: string }): Promise<TerminalExitStatus> {
    const s = await this.find(params).waitForExit();
    return { exitCode: s.exitCode ?? null, signal: s.signal ?? null };
  }

  async kill(params: { terminalId: string }): Promise<Record<string, never>> {
    const t = this.find(params);
    this.opts.emit({ type: 'terminal', op: 'kill', terminalId: params.terminalId });
    await t.kill();
    return {};
  }

  async release(params: { terminalId: string }): Promise<Record<string, never>> {
    const t = this.find(params);
    this.terminals.delete(params.terminalId);
    this.opts.emit({ type: 'terminal', op: 'release', terminalId: params.terminalId });
    await t.release();
    return {};
  }

  /** Ends every terminal (the session is over). */
  async closeAll(): Promise<void> {
    const all = [...this.terminals.values()];
    this.terminals.clear();
    await Promise.all(all.map((t) => t.release().catch(() => {})));
  }

  private find(params: { terminalId: string }): AcpTerminal {
    const t = this.terminals.get(params?.terminalId);
    if (!t) throw new ResponseError(ErrorCode.resourceNotFound, `unknown terminal: ${params?.terminalId}`);
    return t;
  }

  private refuse(command: string, cwd: string, reason: string): never {
    this.opts.emit({ type: 'terminal', op: 'refused', command, cwd, reason });
    throw invalid(`terminal refused: ${reason}`);
  }
}

function invalid(message: string): ResponseError<unknown> {
  return new ResponseError(ErrorCode.invalidParams, message);
}

/**
 * Starts the command with stderr joined to stdout. On POSIX the shell joins them into one pipe, so the
 * output keeps the order it was written in; Windows gets two pipes, interleaved as they are read.
 * What the command leaves running in its group is ended by kill() or release().
 */
function startMerged(launch: TerminalLaunch): ProcessTree {
  // Guarded as the agent is: a terminal leads a group of its own, which the agent's end does not reach.
  const opts: StartOptions = { cwd: launch.cwd, env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], guard: agentTreeGuard(), leftovers: 'keep' };
  if (isWindows) {
    return launch.args.length === 0 ? startShell(launch.command, opts) : startProgram(launch.command, launch.args, opts);
  }
  if (launch.args.length === 0) return startShell(`exec 2>&1\n${execIfSimple(launch.command)}`, opts);
  return startProgram('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', launch.command, ...launch.args], opts);
}

/** The default terminal: a child process in its own group, stdout and stderr interleaved. */
export class ProcessTerminal implements AcpTerminal {
  private readonly tree: ProcessTree;
  private readonly out: ByteTail;
  private status: TerminalExitStatus | undefined;
  private readonly exited: Promise<TerminalExitStatus>;

  constructor(
    launch: TerminalLaunch,
    private readonly killGraceMs: number,
  ) {
    this.out = new ByteTail(launch.outputByteLimit);
    this.tree = startMerged(launch);
    const child = this.tree.child;
    child.stdout!.on('data', (d: Buffer) => this.out.append(d));
    child.stderr!.on('data', (d: Buffer) => this.out.append(d));
    this.exited = this.tree.exited.then(async ({ code, signal, error }) => {
      if (error) {
        this.out.append(`${error.message}\n`);
        return (this.status = { exitCode: 127, signal: null });
      }
      await this.tree.drained(200); // the output up to the exit; a descendant holding the pipes must not delay it
      return (this.status = { exitCode: code, signal });
    });
  }

  output(): TerminalOutputResponse {
    return { output: this.out.text(), truncated: this.out.truncated, exitStatus: this.status ?? null };
  }

  waitForExit(): Promise<TerminalExitStatus> {
    return this.exited;
  }

  /** The group may outlive its leader: this ends whatever of it is left. */
  async kill(): Promise<void> {
    await this.tree.end(this.killGraceMs);
    await this.exited;
  }

  async release(): Promise<void> {
    await this.kill();
    this.out.clear();
  }
}
