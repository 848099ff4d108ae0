// The server's side of the spawn helper (spawn-helper.ts, and why it exists): starts the helper, sends
// it jobs, routes its answers to each job, and fails the jobs in flight if the helper dies. It also
// guards the trees the server starts itself (persistent shells, ACP agents): see `helperGuard`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import { ownGroup, signalTree } from '../../common/platform';
import type { TreeGuard } from '../../common/process';
import { setAgentTreeGuard } from '../../acp/agent-process';
import type { HelperMessage, HelperRequest, SpawnRequest } from './spawn-protocol';

/** How long a new helper has to say it is ready. */
const HELPER_READY_MS = 10_000;
/**
 * How long a helper with nothing to run or guard is kept before it is let go. It is a second Node process
 * (about 40 MiB), so an idle server does not keep one; a busy one keeps it, and the first job after a
 * quiet spell waits for a new one to boot (tens of milliseconds).
 */
export const HELPER_IDLE_MS = 30_000;

export interface SpawnEvents {
  spawned(pid: number): void;
  exit(code: number | null, signal: NodeJS.Signals | null): void;
  /** Input could not be written: the job closed its stdin. */
  stdinClosed(): void;
  /** The job did not start, or was lost with the helper: `message` says why. */
  failed(message: string): void;
}

interface InFlight {
  events: SpawnEvents;
  pid?: number;
}

export class Spawner {
  private helper: ChildProcess | undefined;
  private readonly jobs = new Map<number, InFlight>();
  /** Guarded trees by request id: sent again to a new helper if this one dies. */
  private readonly guarded = new Map<number, number>();
  private nextId = 1;
  private disposing = false;
  private idleTimer: NodeJS.Timeout | undefined;

  /** The helper starts with the first job or guard, and goes once it has had nothing to do for `idleMs`. */
  constructor(private readonly idleMs = HELPER_IDLE_MS) {}

  /** Runs `request.command` through the platform shell; `input` writes to its stdin. */
  spawn(request: Omit<SpawnRequest, 'op' | 'id'>, events: SpawnEvents): { input(data: string, eof: boolean): void } {
    const id = this.nextId++;
    const helper = this.busy();
    this.jobs.set(id, { events });
    (helper.stdout as Socket).ref(); // jobs in flight keep the process alive until they end
    this.send(helper, { op: 'spawn', id, ...request });
    return { input: (data, eof) => this.send(helper, { op: 'input', id, data, eof }) };
  }

  /**
   * Has the helper end the tree led by `pid` if the server dies (the helper sees its pipe close) before
   * the returned release is called. Does not keep the process alive.
   */
  guard(pid: number): () => void {
    const id = this.nextId++;
    this.guarded.set(id, pid);
    this.send(this.busy(), { op: 'guard', id, pid });
    return () => {
      if (this.guarded.delete(id) && this.helper) this.send(this.helper, { op: 'release', id });
      this.idleWhenDone();
    };
  }

  /** Whether a helper process runs now. */
  get running(): boolean {
    return this.helper !== undefined;
  }

  /** The helper, started if there is none, and kept: there is work for it. */
  private busy(): ChildProcess {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return this.helper ?? this.start();
  }

  /** With nothing left to run or guard, the helper goes after `idleMs` (unless work comes first). */
  private idleWhenDone(): void {
    if (this.jobs.size > 0 || this.guarded.size > 0 || !this.helper || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      const helper = this.helper;
      if (!helper || this.jobs.size > 0 || this.guarded.size > 0) return;
      this.helper = undefined; // its close is then no loss (see lost)
      helper.stdin!.end();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Lets the helper go; it ends whatever job is still running (the job manager has ended them by now). */
  async dispose(): Promise<void> {
    this.disposing = true;
    clearTimeout(this.idleTimer);
    const helper = this.helper;
    if (!helper) return;
    const exited = new Promise((resolve) => helper.once('close', resolve));
    // Until it has gone: 'close' also waits for the end of its stdout, which (unreferenced while idle)
    // would otherwise let the event loop finish between the exit and that end, leaving this unresolved.
    helper.ref();
    (helper.stdout as Socket).ref();
    helper.stdin!.end();
    await exited;
  }

  private start(): ChildProcess {
    // Under VS Code, the extension host's executable is Electron: the variable makes it plain Node.
    const helper = spawn(process.execPath, helperArgs(), {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      // Its own group, so a Ctrl+C or hang-up meant for the server's terminal does not reach it: the
      // server ends its jobs gracefully, then lets the helper go.
      ...ownGroup,
    });
    this.helper = helper;
    helper.unref();
    (helper.stdout as Socket).unref();
    helper.stdin!.on('error', () => {}); // a dead helper is handled when it closes
    // An executable that is not Node after all (an Electron without its run-as-Node switch) never answers.
    const notReady = setTimeout(() => {
      this.lost(helper, `the spawn helper did not start within ${HELPER_READY_MS / 1000} s`);
      helper.kill('SIGKILL');
    }, HELPER_READY_MS);
    notReady.unref();
    createInterface({ input: helper.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      const message = JSON.parse(line) as HelperMessage;
      if (message.op === 'ready') clearTimeout(notReady);
      else this.receive(message);
    });
    // 'close', not 'exit': by then every line the helper wrote has been read, pids and exits included.
    helper.once('close', (code, signal) => {
      clearTimeout(notReady);
      this.lost(helper, `the spawn helper exited (${signal ?? `code ${code}`})`);
    });
    helper.once('error', (err) => this.lost(helper, `the spawn helper could not run: ${err.message}`));
    for (const [id, pid] of this.guarded) this.send(helper, { op: 'guard', id, pid }); // what a lost helper watched
    return helper;
  }

  private send(helper: ChildProcess, request: HelperRequest): void {
    helper.stdin!.write(`${JSON.stringify(request)}\n`);
  }

  private receive(message: Exclude<HelperMessage, { op: 'ready' }>): void {
    const job = this.jobs.get(message.id);
    if (!job) return;
    if (message.op === 'spawned') {
      job.pid = message.pid;
      job.events.spawned(message.pid);
      return;
    }
    if (message.op === 'stdin-closed') return job.events.stdinClosed();
    this.jobs.delete(message.id);
    if (this.jobs.size === 0) (this.helper?.stdout as Socket | undefined)?.unref();
    if (message.op === 'exit') job.events.exit(message.code, message.signal);
    else job.events.failed(message.message);
    this.idleWhenDone();
  }

  /** The helper is gone: its jobs cannot be followed any more, so they end now, and the next job starts a new helper. */
  private lost(helper: ChildProcess, why: string): void {
    if (this.helper !== helper) return;
    this.helper = undefined;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) {
      if (job.pid !== undefined) signalTree(job.pid, 'SIGKILL');
      job.events.failed(why);
    }
    // Guarded trees live on, unlike jobs (the server holds their pipes): a new helper watches them now.
    if (this.guarded.size > 0 && !this.disposing) this.start();
  }
}

let guardSpawner: Spawner | undefined;

/**
 * The guard of the trees the server starts itself rather than through a Spawner's jobs (persistent
 * shells, ACP agents), because it reads their pipes: one helper for the whole process, started on first
 * use and never disposed, so it watches across servers (the VS Code extension host restarts its server in
 * place). It ends with the process, ending what it still guards.
 */
export const helperGuard: TreeGuard = {
  watch: (pid) => (guardSpawner ??= new Spawner()).guard(pid),
};

// src/acp stays a library that needs no server: it takes the guard when the server core is loaded.
setAgentTreeGuard(helperGuard);

/** The helper beside the bundle (dist/spawn-helper.js); from the sources, as the tests run them, through tsx. */
function helperArgs(): string[] {
  const built = join(__dirname, 'spawn-helper.js');
  if (existsSync(built)) return [built];
  return ['--import', pathToFileURL(require.resolve('tsx')).href, join(__dirname, 'spawn-helper.ts')];
}
