// A terminal session over the WebSocket (docs/terminal.md): output as text to write straight into
// xterm.js, input, resize, and a reconnect with `?session=ID` after a drop, so the shell outlives the
// connection. Each connection opens with a one-time ticket, which browsers need (a WebSocket cannot carry
// a header) and Node's `ws` accepts alike, so both take one path.
import { AgentRuntimeError, callJson, pathWithQuery, sleep, type Transport } from './http.js';
import type { ReconnectOptions } from './sse.js';
import type { TerminalTicket } from './types.js';

/** What the client needs of a WebSocket: the browser's, Node ≥ 22's global one, or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface TerminalOptions {
  /** The shell's working directory. */
  workdir?: string;
  /** Typed into the new shell once it has printed its prompt. */
  command?: string;
  cols?: number;
  rows?: number;
  /** Attach to this live session instead of starting one. */
  session?: string;
  /** After a drop, attach again to the same session; `false`: never. Default: 10 attempts, 1 s apart. */
  reconnect?: ReconnectOptions | false;
  /** Aborting detaches (the session stays for a reconnect, as after a drop). */
  signal?: AbortSignal;
}

/** The `session` control message: first on every connection. */
export interface TerminalSession {
  id: string;
  cols: number;
  rows: number;
  /** The screen as it stands follows: clear the terminal before writing it. */
  resumed: boolean;
}

/** The `exit` control message: the session ended. */
export interface TerminalExit {
  exitCode: number | null;
  signal?: number;
  reason: string;
}

export interface TerminalClosed {
  /** The last close code (1000 after an exit or `close()`). */
  code: number;
  reason: string;
  exit?: TerminalExit;
}

interface TerminalEvents {
  /** Terminal output, valid UTF-8, for `xterm.write`. */
  data: string;
  session: TerminalSession;
  exit: TerminalExit;
  /** An `error` control message (a bad frame, a limit about to end the session). */
  error: string;
  /** The connection dropped; a reconnect follows (attempt counts from 1). */
  reconnecting: { attempt: number; code: number };
  closed: TerminalClosed;
}

/** Close codes after which the session is gone or refused: asking again would not help. */
const FINAL_CLOSES = new Set([1000, 1001, 1008, 1011, 1013, 4404]);
/** The code `detach()` sends: any code but 1000 (or none) leaves the shell waiting for a reconnect. */
export const DETACH_CODE = 4000;
const OPEN = 1;

export class TerminalConnection {
  /** The session's id, once the server sent it (keep it to attach again later). */
  sessionId: string | undefined;
  /** Resolves with the first `session` message; rejects if the first connection fails. */
  readonly opened: Promise<TerminalSession>;
  /** Resolves once the connection is closed for good (ended, closed, detached, or reconnects gave up). */
  readonly closed: Promise<TerminalClosed>;

  private socket: WebSocketLike | undefined;
  private readonly listeners = new Map<keyof TerminalEvents, Set<(v: never) => void>>();
  private readonly pending: string[] = [];
  private pongs: (() => void)[] = [];
  private leaving: number | undefined;
  private exit: TerminalExit | undefined;
  private finished = false;
  private resolveOpened!: (s: TerminalSession) => void;
  private rejectOpened!: (e: unknown) => void;
  private resolveClosed!: (c: TerminalClosed) => void;

  constructor(
    private readonly transport: Transport,
    private readonly WebSocketImpl: WebSocketConstructor,
    private readonly options: TerminalOptions = {},
  ) {
    this.opened = new Promise((resolve, reject) => {
      this.resolveOpened = resolve;
      this.rejectOpened = reject;
    });
    this.opened.catch(() => undefined); // also reported through `closed`
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.sessionId = options.session;
    options.signal?.addEventListener('abort', () => void this.detach(), { once: true });
    // After the caller's first `on(...)` calls: what happens at once (an aborted signal) is seen too.
    queueMicrotask(() => void this.run());
  }

  on<E extends keyof TerminalEvents>(event: E, listener: (value: TerminalEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (v: never) => void);
    return () => set.delete(listener as (v: never) => void);
  }

  /** Types into the terminal (keystrokes as xterm.js's `onData` gives them); held while reconnecting. */
  write(data: string): void {
    this.send(JSON.stringify({ type: 'input', data }));
  }

  resize(cols: number, rows: number): void {
    this.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  /** Resolves when the server answers (a round trip through the session). */
  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.send(JSON.stringify({ type: 'ping' }));
    });
  }

  /** Ends the session (a clean close: the shell goes, unless other clients are attached). */
  close(): Promise<TerminalClosed> {
    return this.leave(1000);
  }

  /** Closes this connection but leaves the session running for `reconnectGraceMs`, to attach to by its id. */
  detach(): Promise<TerminalClosed> {
    return this.leave(DETACH_CODE);
  }

  private leave(code: number): Promise<TerminalClosed> {
    if (this.leaving === undefined) {
      this.leaving = code;
      if (this.socket) this.socket.close(code);
      else this.finish({ code, reason: 'closed before it opened' });
    }
    return this.closed;
  }

  private emit<E extends keyof TerminalEvents>(event: E, value: TerminalEvents[E]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (v: TerminalEvents[E]) => void)(value);
  }

  private send(frame: string): void {
    if (this.leaving !== undefined) throw new Error('the terminal connection is closed');
    if (this.socket?.readyState === OPEN) this.socket.send(frame);
    else this.pending.push(frame);
  }

  private finish(closed: TerminalClosed): void {
    // Once: a close during a reconnect's wait and the loop's own end may both get here.
    if (this.finished) return;
    this.finished = true;
    this.rejectOpened(new Error(`the terminal closed before its session opened (${closed.code}${closed.reason ? `: ${closed.reason}` : ''})`));
    this.resolveClosed(closed);
    this.emit('closed', closed);
  }

  private async run(): Promise<void> {
    const reconnect = this.options.reconnect;
    const attempts = reconnect === false ? 0 : (reconnect?.attempts ?? 10);
    const delayMs = reconnect ? (reconnect.delayMs ?? 1000) : 1000;
    let failures = 0;
    if (this.options.signal?.aborted) void this.detach();
    for (;;) {
      if (this.finished) return;
      let outcome: { code: number; reason: string; gotSession: boolean };
      try {
        outcome = await this.connectOnce();
      } catch (err) {
        // No ticket: the server unreachable (a drop, tried again), or refusing (a wrong key: final).
        const reason = err instanceof Error ? err.message : String(err);
        if (err instanceof AgentRuntimeError && err.status < 500) return this.finish({ code: 1008, reason });
        outcome = { code: 1006, reason, gotSession: false };
      }
      if (outcome.gotSession) failures = 0;
      const final = this.leaving !== undefined || this.exit !== undefined || FINAL_CLOSES.has(outcome.code) || this.sessionId === undefined;
      if (final || ++failures > attempts) {
        this.finish({ code: outcome.code, reason: outcome.reason, ...(this.exit ? { exit: this.exit } : {}) });
        return;
      }
      this.emit('reconnecting', { attempt: failures, code: outcome.code });
      try {
        await sleep(delayMs, this.options.signal);
      } catch {
        this.finish({ code: outcome.code, reason: 'aborted while reconnecting' });
        return;
      }
      if (this.leaving !== undefined) {
        this.finish({ code: this.leaving, reason: 'closed while reconnecting' });
        return;
      }
    }
  }

  /** One connection, from its ticket to its close. */
  private async connectOnce(): Promise<{ code: number; reason: string; gotSession: boolean }> {
    const { ticket } = await callJson<TerminalTicket>(this.transport, 'POST', '/terminal/tickets', { signal: this.options.signal });
    const o = this.options;
    const query = this.sessionId
      ? { session: this.sessionId, cols: o.cols, rows: o.rows, ticket }
      : { workdir: o.workdir, command: o.command, cols: o.cols, rows: o.rows, ticket };
    const url = this.transport.url.replace(/^http/, 'ws') + pathWithQuery('/terminal/ws', query);
    if (this.leaving !== undefined) return { code: this.leaving, reason: 'closed', gotSession: false };
    const ws = new this.WebSocketImpl(url);
    this.socket = ws;
    let gotSession = false;
    return new Promise((resolve) => {
      ws.onmessage = (ev) => {
        const text = typeof ev.data === 'string' ? ev.data : String(ev.data);
        if (!text.startsWith('\u0000')) return this.emit('data', text);
        const msg = JSON.parse(text.slice(1)) as { type: string } & Record<string, unknown>;
        if (msg.type === 'session') {
          gotSession = true;
          const session = { id: String(msg.id), cols: Number(msg.cols), rows: Number(msg.rows), resumed: Boolean(msg.resumed) };
          this.sessionId = session.id;
          for (const frame of this.pending.splice(0)) ws.send(frame);
          this.resolveOpened(session);
          this.emit('session', session);
        } else if (msg.type === 'pong') this.pongs.shift()?.();
        else if (msg.type === 'error') this.emit('error', String(msg.message));
        else if (msg.type === 'exit') {
          this.exit = {
            exitCode: (msg.exitCode as number | null) ?? null,
            reason: String(msg.reason),
            ...(msg.signal !== undefined ? { signal: Number(msg.signal) } : {}),
          };
          this.emit('exit', this.exit);
        }
      };
      ws.onerror = () => undefined; // a close follows, with its code
      ws.onclose = (ev) => {
        this.socket = undefined;
        resolve({ code: ev.code, reason: ev.reason, gotSession });
      };
    });
  }
}
