// One terminal: a shell in a PTY, the screen state kept for reconnects, and the clients attached to it.
// The shell outlives its connections: a dropped client leaves it running for the reconnect grace period;
// a clean close (1000, or no code) by the last client, the idle timeout, the lifetime limit or a DELETE end it.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Logger } from '../log';
import { isWindows, signalTree } from '../../common/platform';
import { FlowGate } from './backpressure';
import { TerminalClient, type ClientEvents } from './client';
import type { TerminalOptions } from './options';
import { CLOSE, Utf8Framer, controlFrame, type TerminalEndReason } from './protocol';
import type { PtyModule, PtyProcess } from './pty';
import { Screen } from './screen';

export interface SessionSpec {
  shell: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  /** Typed into the shell once it is up (the predecessor's `command` query, docs/COMPATIBILITY.md). */
  command?: string;
}

/** What `GET /terminals` shows of a session. */
export interface TerminalSessionInfo {
  id: string;
  pid: number;
  shell: string;
  workdir: string;
  command: string | null;
  cols: number;
  rows: number;
  /** Unix seconds, as the job API. */
  createdAt: number;
  lastActivityAt: number;
  clients: number;
  /** True while a slow reader (or the screen parser) holds the PTY paused. */
  paused: boolean;
  /** Output sent to the clients that they have not read yet, summed (bounded by the high-water mark each). */
  unreadBytes: number;
  /** Unix seconds after which a detached session ends, when no client is attached. */
  detachedUntil: number | null;
}

/** How long a shell gets to exit after SIGHUP before its process group is killed. */
const KILL_GRACE_MS = 2000;
/**
 * Output that follows a send by less than STREAMING_MS is part of a flood: it is gathered for up to
 * BATCH_MS (or BATCH_CHARS) and sent as one frame, which saves a syscall and a frame per 4 KiB read on
 * both ends. Output after a pause (an echoed keystroke) goes out at once.
 */
const STREAMING_MS = 2;
const BATCH_MS = 2;
const BATCH_BYTES = 64 * 1024;
/** Longest wait for the screen parser to catch up before a snapshot of the text gives up (the session ended meanwhile). */
const SCREEN_WAIT_MS = 10_000;
/** When `command` is given: typed once the shell first prints (its prompt), or after this long. */
const COMMAND_FALLBACK_MS = 1000;

export class TerminalSession {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  private lastActivity = Date.now();
  private cols: number;
  private rows: number;
  private readonly pty: PtyProcess;
  private readonly screen: Screen;
  private readonly gate: FlowGate;
  private readonly framer = new Utf8Framer();
  private readonly clients = new Map<string, TerminalClient>();
  private readonly timers: { idle?: NodeJS.Timeout; lifetime?: NodeJS.Timeout; grace?: NodeJS.Timeout; command?: NodeJS.Timeout; kill?: NodeJS.Timeout } = {};
  private detachedSince: number | null = null;
  private pendingCommand: string | undefined;
  private endReason: TerminalEndReason | undefined;
  private exited = false;
  private readonly exitWaiters: Array<() => void> = [];
  /** Output read and not yet sent: a PTY read returns at most 4 KiB, so a flood is sent in batches. */
  private unsent: Buffer[] = [];
  private unsentBytes = 0;
  private sendTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastSendAt = 0;

  constructor(
    ptyModule: PtyModule,
    private readonly spec: SessionSpec,
    private readonly options: TerminalOptions,
    private readonly logger: Logger,
    private readonly onEnded: (session: TerminalSession) => void,
  ) {
    this.cols = spec.cols;
    this.rows = spec.rows;
    // Throws when the shell cannot be started; the service reports that to the client.
    this.pty = ptyModule.spawn(spec.shell, spec.args, {
      name: 'xterm-256color',
      cols: spec.cols,
      rows: spec.rows,
      cwd: spec.cwd,
      env: spec.env,
      // Bytes, not strings: output goes out as it came in, cut only at character boundaries (Utf8Framer).
      encoding: null,
    });
    this.gate = new FlowGate(
      () => this.pty.pause(),
      () => this.pty.resume(),
    );
    this.screen = new Screen(spec.cols, spec.rows, options.scrollbackLines, options.lowWaterBytes, () => this.screenParsed());
    this.pty.onData((chunk) => this.output(chunk));
    this.pty.onExit(({ exitCode, signal }) => this.exit(exitCode, signal));
    this.pendingCommand = spec.command;
    if (spec.command) this.timers.command = setTimeout(() => this.typeCommand(), COMMAND_FALLBACK_MS);
    this.timers.lifetime = setTimeout(() => this.end('lifetime'), options.maxLifetimeMs).unref();
    this.armIdleTimer(options.idleTimeoutMs);
    logger.info(`terminal ${this.id}: started ${spec.shell} (pid ${this.pty.pid}) in ${spec.cwd}`);
  }

  get pid(): number {
    return this.pty.pid;
  }

  get ended(): boolean {
    return this.endReason !== undefined || this.exited;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  info(): TerminalSessionInfo {
    return {
      id: this.id,
      pid: this.pty.pid,
      shell: this.spec.shell,
      workdir: this.spec.cwd,
      command: this.spec.command ?? null,
      cols: this.cols,
      rows: this.rows,
      createdAt: this.createdAt / 1000,
      lastActivityAt: this.lastActivity / 1000,
      clients: this.clients.size,
      paused: this.gate.paused,
      unreadBytes: [...this.clients.values()].reduce((sum, c) => sum + c.unreadBytes, 0),
      detachedUntil: this.detachedSince === null ? null : (this.detachedSince + this.options.reconnectGraceMs) / 1000,
    };
  }

  /**
   * Attaches a WebSocket: it gets the `session` message, then the screen as it stands, then live output.
   * The PTY is paused meanwhile so the snapshot and the live stream meet exactly. A size given by a
   * resuming client is applied first, so the snapshot is reflowed to the window it will be shown in.
   */
  attach(ws: WebSocket, resumed: boolean, size?: { cols: number; rows: number }): void {
    if (this.clients.size >= this.options.maxClientsPerSession) {
      const message = `this terminal already has ${this.clients.size} clients (max ${this.options.maxClientsPerSession})`;
      ws.send(controlFrame({ type: 'error', message }));
      ws.close(CLOSE.tryAgainLater, 'too many clients');
      return;
    }
    const client = new TerminalClient(ws, this.options, this.clientEvents);
    this.clients.set(client.id, client);
    if (size) this.resize(size.cols, size.rows);
    this.clearGrace();
    client.control({ type: 'session', id: this.id, cols: this.cols, rows: this.rows, resumed });
    const holder = `attach:${client.id}`;
    this.gate.hold(holder);
    this.screen.whenIdle(() => {
      this.gate.release(holder);
      if (client.closed) return;
      // The screen has parsed everything read so far; the others get what they still lack before this one joins.
      this.sendUnsent();
      const snapshot = this.screen.serialize();
      if (snapshot) client.send(Buffer.from(snapshot, 'utf8'));
      client.live = true;
    });
  }

  /** Types `data` into the shell, as a client's `input` frame does; false once the session has ended. */
  input(data: string): boolean {
    if (this.ended) return false;
    this.touch();
    this.pty.write(data);
    return true;
  }

  /** What the screen shows now, as plain text, once the output read so far is parsed; undefined once ended. */
  screenText(): Promise<string | undefined> {
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), SCREEN_WAIT_MS); // whenIdle never calls back after dispose
      this.screen.whenIdle(() => {
        clearTimeout(timer);
        resolve(this.screen.text());
      });
    });
  }

  /** Ends the session: the shell gets SIGHUP (then its group SIGKILL); resolves once it has exited. */
  end(reason: TerminalEndReason): Promise<void> {
    if (this.exited) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    if (this.endReason) return done;
    this.endReason = reason;
    this.logger.info(`terminal ${this.id}: ending (${reason})`);
    const message = limitMessage(reason, this.options);
    if (message) for (const c of this.clients.values()) c.control({ type: 'error', message });
    this.signal('SIGHUP');
    this.timers.kill = setTimeout(() => {
      this.signal('SIGKILL');
      // A PTY whose exit never gets reported must not keep the session (and its slot) forever.
      this.timers.kill = setTimeout(() => this.exit(null, undefined), KILL_GRACE_MS);
    }, KILL_GRACE_MS);
    return done;
  }

  private readonly clientEvents: ClientEvents = {
    frame: (_client, frame) => {
      if (this.ended) return;
      this.touch();
      if (frame.type === 'input') this.input(frame.data);
      else this.resize(frame.cols, frame.rows);
    },
    congestion: (client, congested) => {
      if (congested) this.gate.hold(client.id);
      else this.gate.release(client.id);
    },
    stalled: (client) => {
      const seconds = Math.round(this.options.stallTimeoutMs / 1000);
      this.logger.warn(`terminal ${this.id}: closing client ${client.id}: it read nothing for ${seconds} s and held the terminal paused`);
      // It may never read this close frame (it is not reading); the log above is the record that it was dropped.
      client.close(CLOSE.tooSlow, `client too slow: held the terminal paused for ${seconds} s`);
    },
    closed: (client, code) => this.detach(client, code),
  };

  private output(chunk: string | Buffer): void {
    const bytes = this.framer.push(chunk);
    if (bytes.length === 0) return;
    this.lastActivity = Date.now();
    if (this.pendingCommand) this.typeCommand();
    this.screen.write(bytes);
    if (this.screen.queued > this.options.highWaterBytes) this.gate.hold('screen');
    this.unsent.push(bytes);
    this.unsentBytes += bytes.length;
    if (this.unsentBytes >= BATCH_BYTES) this.sendUnsent();
    else if (!this.sendTimer) {
      const streaming = performance.now() - this.lastSendAt < STREAMING_MS;
      this.sendTimer = streaming ? setTimeout(() => this.sendUnsent(), BATCH_MS) : setImmediate(() => this.sendUnsent());
    }
  }

  /** Sends what was read since the last send as one frame: fewer, larger frames cost far fewer syscalls. */
  private sendUnsent(): void {
    clearTimeout(this.sendTimer as NodeJS.Timeout);
    clearImmediate(this.sendTimer as NodeJS.Immediate);
    this.sendTimer = undefined;
    if (this.unsent.length === 0) return;
    const payload = this.unsent.length === 1 ? this.unsent[0] : Buffer.concat(this.unsent, this.unsentBytes);
    this.unsent = [];
    this.unsentBytes = 0;
    this.lastSendAt = performance.now();
    for (const client of this.clients.values()) if (client.live) client.send(payload);
  }

  private screenParsed(): void {
    if (this.screen.queued <= this.options.lowWaterBytes) this.gate.release('screen');
  }

  private resize(cols: number, rows: number): void {
    if (cols === this.cols && rows === this.rows) return;
    this.cols = cols;
    this.rows = rows;
    try {
      this.pty.resize(cols, rows);
    } catch {
      return; // The PTY is closing; its exit ends the session.
    }
    this.screen.resize(cols, rows);
  }

  private typeCommand(): void {
    clearTimeout(this.timers.command);
    const command = this.pendingCommand;
    this.pendingCommand = undefined;
    if (command && !this.ended) this.pty.write(`${command}\r`);
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  /** Checks idleness only when the timer fires, so busy output costs a timestamp, not a timer per chunk. */
  private armIdleTimer(delay: number): void {
    this.timers.idle = setTimeout(() => {
      const idleFor = Date.now() - this.lastActivity;
      if (idleFor >= this.options.idleTimeoutMs) void this.end('idle');
      else this.armIdleTimer(this.options.idleTimeoutMs - idleFor);
    }, delay).unref();
  }

  private detach(client: TerminalClient, code: number): void {
    this.clients.delete(client.id);
    this.gate.release(client.id);
    this.gate.release(`attach:${client.id}`);
    if (this.ended || this.clients.size > 0) return;
    // A deliberate close ends the shell: 1000, or a close frame with no code (1005). A tab closing (1001),
    // any other code or a drop keeps it for a reconnect.
    if (code === CLOSE.normal || code === CLOSE.noStatus) {
      void this.end('closed');
      return;
    }
    this.detachedSince = Date.now();
    this.logger.info(`terminal ${this.id}: last client dropped (${code}); kept ${Math.round(this.options.reconnectGraceMs / 1000)} s for a reconnect`);
    this.timers.grace = setTimeout(() => this.end('grace'), this.options.reconnectGraceMs).unref();
  }

  private clearGrace(): void {
    clearTimeout(this.timers.grace);
    this.detachedSince = null;
  }

  private signal(signal: 'SIGHUP' | 'SIGKILL'): void {
    try {
      if (isWindows) this.pty.kill();
      else if (signal === 'SIGKILL') signalTree(this.pty.pid, 'SIGKILL');
      else this.pty.kill(signal);
    } catch {
      // Already gone: its exit event ends the session.
    }
  }

  private exit(exitCode: number | null, signal: number | undefined): void {
    if (this.exited) return;
    this.exited = true;
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    const rest = this.framer.end();
    if (rest.length) {
      this.unsent.push(rest);
      this.unsentBytes += rest.length;
    }
    this.sendUnsent();
    const reason = this.endReason ?? 'exit';
    this.logger.info(`terminal ${this.id}: ended (${reason}, exit code ${exitCode}${signal ? `, signal ${signal}` : ''})`);
    for (const client of this.clients.values()) {
      client.control({ type: 'exit', exitCode, ...(signal ? { signal } : {}), reason });
      client.close(reason === 'shutdown' ? CLOSE.goingAway : CLOSE.normal, `terminal ended (${reason})`);
    }
    this.screen.dispose();
    this.onEnded(this);
    for (const resolve of this.exitWaiters.splice(0)) resolve();
  }
}

function limitMessage(reason: TerminalEndReason, options: TerminalOptions): string | undefined {
  if (reason === 'idle') return `terminal idle for ${Math.round(options.idleTimeoutMs / 1000)} s; ending it`;
  if (reason === 'lifetime') return `terminal reached its maximum lifetime of ${Math.round(options.maxLifetimeMs / 1000)} s; ending it`;
  if (reason === 'deleted') return 'terminal ended by DELETE /terminals/{id}';
  if (reason === 'shutdown') return 'server shutting down; ending the terminal';
  return undefined;
}
