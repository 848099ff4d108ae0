// JSON-RPC 2.0 with the agent, on vscode-jsonrpc over the NDJSON transport. Adds what a client of an
// untrusted process needs: one fatal failure that rejects everything pending (so nothing waits forever),
// a bound on garbage lines, and read-ahead accounting so a flooding agent is paused, not buffered.
import type { Readable, Writable } from 'node:stream';
import { createMessageConnection, ResponseError, type Logger, type Message, type MessageConnection } from 'vscode-jsonrpc/node';
import { InvalidLineError, LineTooLongError, NdjsonMessageReader, NdjsonMessageWriter } from './ndjson';
import { ErrorCode } from './protocol';

/** How long a failed write waits for the agent's exit to explain it. */
const WRITE_FAILURE_GRACE_MS = 1500;

export interface ChannelOptions {
  maxLineBytes: number;
  highWaterBytes?: number;
  /** Lines that are not JSON-RPC tolerated before the channel fails (0: the first one fails it). */
  invalidLineTolerance: number;
  /** Problems that do not end the channel. */
  onNotice(level: 'warning' | 'error', message: string): void;
  /** The channel failed (the agent cannot be talked to any more). */
  onFailure?(err: Error): void;
}

/** The channel failed: everything pending on it was rejected with this. */
export class ChannelFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelFailure';
  }
}

// The params are the protocol's: each handler states the shape it expects.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RequestHandler = (params: any) => unknown;

export class RpcChannel {
  readonly connection: MessageConnection;
  private readonly reader: NdjsonMessageReader;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;
  private rejectFailed!: (err: Error) => void;
  private invalidLines = 0;

  constructor(
    input: Readable,
    output: Writable,
    private readonly opts: ChannelOptions,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => {}); // observed through request(), never unhandled
    this.reader = new NdjsonMessageReader(input, { maxLineBytes: opts.maxLineBytes, highWaterBytes: opts.highWaterBytes });
    const writer = new NdjsonMessageWriter(output);
    const reader = this.reader;
    this.connection = createMessageConnection(reader, writer, noticeLogger(opts), {
      messageStrategy: {
        handleMessage(message: Message, next: (m: Message) => void) {
          try {
            next(message);
          } finally {
            reader.handled(message);
          }
        },
      },
    });
    this.connection.onError(([err]) => this.onTransportError(err));
    // Requests nobody registered: answered -32601, and noted, since an agent relying on them will misbehave.
    this.connection.onRequest((method: string) => {
      opts.onNotice('warning', `agent called ${method}, which this client does not serve (answered -32601)`);
      throw new ResponseError(ErrorCode.methodNotFound, `method not found: ${method}`);
    });
  }

  listen(): void {
    this.connection.listen();
  }

  get failedWith(): Error | undefined {
    return this.failure;
  }

  /** Sends a request; rejects with the agent's error, or with the channel's failure if that comes first. */
  request<R>(method: string, params: unknown): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    let sent: Promise<R>;
    try {
      sent = this.connection.sendRequest<R>(method, params);
    } catch (err) {
      return Promise.reject(this.failure ?? err);
    }
    return Promise.race([sent, this.failed]);
  }

  notify(method: string, params: unknown): void {
    if (this.failure) return;
    try {
      this.connection.sendNotification(method, params).catch(() => {});
    } catch {
      // the connection closed meanwhile; its failure is reported where it matters
    }
  }

  onRequest(method: string, handler: RequestHandler): void {
    this.connection.onRequest(method, handler);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as RequestHandler's params
  onNotification(method: string, handler: (params: any) => void): void {
    this.connection.onNotification(method, handler);
  }

  /** Fails the channel once: every pending and future request rejects with `err`. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.rejectFailed(err);
    this.opts.onFailure?.(err);
  }

  /** Resolves once every message read so far has been handled. */
  async drained(maxMs = 2000): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (this.reader.pendingBytes > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  }

  dispose(): void {
    this.fail(new ChannelFailure('the connection to the agent was closed'));
    this.connection.dispose();
  }

  private onTransportError(err: Error): void {
    if (err instanceof LineTooLongError) return this.fail(new ChannelFailure(err.message));
    if (err instanceof InvalidLineError) {
      this.invalidLines++;
      if (this.invalidLines > this.opts.invalidLineTolerance) return this.fail(new ChannelFailure(err.message));
      this.opts.onNotice('warning', err.message);
      return;
    }
    // A failed write (EPIPE) means the agent is gone or deaf. Its exit, reported by the owner, says more,
    // so that gets a moment to fail the channel first.
    setTimeout(() => this.fail(new ChannelFailure(`cannot write to the agent: ${err.message}`)), WRITE_FAILURE_GRACE_MS).unref();
  }
}

function noticeLogger(opts: ChannelOptions): Logger {
  return {
    error: (m) => opts.onNotice('error', `jsonrpc: ${m}`),
    warn: (m) => opts.onNotice('warning', `jsonrpc: ${m}`),
    info: () => {},
    log: () => {},
  };
}
