// One WebSocket attached to a session: validates what it sends, counts what it has not read yet,
// and notices when it has gone (heartbeat) or reads so slowly that it holds everyone back (stall).
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import { WaterMarks } from './backpressure';
import { controlFrame, parseClientFrame, type ClientFrame, type ControlMessage } from './protocol';

export interface ClientLimits {
  highWaterBytes: number;
  lowWaterBytes: number;
  stallTimeoutMs: number;
  heartbeatMs: number;
}

export interface ClientEvents {
  /** A valid `input` or `resize` frame (pings are answered here). */
  frame(client: TerminalClient, frame: Exclude<ClientFrame, { type: 'ping' }>): void;
  /** The client's unread output crossed the high-water mark (true) or fell back to the low one (false). */
  congestion(client: TerminalClient, congested: boolean): void;
  /** The client stayed above the high-water mark for `stallTimeoutMs`. */
  stalled(client: TerminalClient): void;
  /** The socket closed; `code` is what the peer sent (1000 for a clean close, 1005 for a close frame without a code, 1006 when it just vanished). */
  closed(client: TerminalClient, code: number): void;
}

/** After asking a client to close, how long to wait for its answer before cutting the socket. */
const CLOSE_WAIT_MS = 2000;

export class TerminalClient {
  readonly id = randomUUID();
  /** Output only flows once the client has its snapshot, so nothing arrives twice or out of order. */
  live = false;
  private unread = 0;
  private readonly marks: WaterMarks;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private awaitingPong = false;
  private isClosed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: ClientLimits,
    private readonly events: ClientEvents,
  ) {
    this.marks = new WaterMarks(limits.highWaterBytes, limits.lowWaterBytes);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.awaitingPong = false));
    ws.on('error', () => {}); // 'close' follows every error; the session handles that.
    ws.on('close', (code) => this.onClose(code));
    this.heartbeat = setInterval(() => this.beat(), limits.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Output handed to the socket and not yet written out to the network. */
  get unreadBytes(): number {
    return this.unread;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends terminal output (already UTF-8) as a text frame. */
  send(payload: Buffer): void {
    if (this.isClosed) return;
    const size = payload.length;
    this.unread += size;
    this.ws.send(payload, { binary: false }, () => this.written(size));
    if (this.marks.update(this.unread) === true) this.congested();
  }

  control(message: ControlMessage): void {
    this.send(Buffer.from(controlFrame(message), 'utf8'));
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.ws.close(code, reason.slice(0, 120));
    // A client that stopped reading never answers the close handshake.
    setTimeout(() => this.ws.terminate(), CLOSE_WAIT_MS).unref();
  }

  private written(size: number): void {
    this.unread -= size;
    if (this.marks.update(this.unread) === false) {
      clearTimeout(this.stallTimer);
      this.events.congestion(this, false);
    }
  }

  private congested(): void {
    this.events.congestion(this, true);
    this.stallTimer = setTimeout(() => this.events.stalled(this), this.limits.stallTimeoutMs);
    this.stallTimer.unref();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.control({ type: 'error', message: 'binary frames are not accepted; send JSON text frames' });
    const text = rawText(data);
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return this.control({ type: 'error', message: parsed.error });
    if (parsed.frame.type === 'ping') return this.control({ type: 'pong' });
    this.events.frame(this, parsed.frame);
  }

  private beat(): void {
    if (this.awaitingPong) {
      this.ws.terminate();
      return;
    }
    this.awaitingPong = true;
    this.ws.ping();
  }

  private onClose(code: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.stallTimer);
    this.events.closed(this, code);
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}
