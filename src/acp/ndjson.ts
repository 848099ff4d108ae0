// ACP frames JSON-RPC as one JSON message per line; vscode-jsonrpc's own stream reader speaks LSP's
// `Content-Length` framing, so this is the newline-delimited reader and writer on its message abstractions.
// The reader never holds more than one line's worth of bytes (`maxLineBytes`), and pauses its input
// while the connection has too much read but not yet handled (`highWaterBytes`).
import type { Readable, Writable } from 'node:stream';
import { AbstractMessageReader, AbstractMessageWriter, Disposable, type DataCallback, type Message } from 'vscode-jsonrpc/node';

/** Default bound of one incoming line: the official SDK's bound, 32 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024;
/** Default bytes read ahead of the handlers before the agent's stdout is paused: 8 MiB. */
export const DEFAULT_HIGH_WATER_BYTES = 8 * 1024 * 1024;

const NEWLINE = 0x0a;
const EXCERPT_CHARS = 200;

/** A line longer than the bound; its bytes were dropped as they came. */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`agent sent a line longer than ${limit} bytes (maxLineBytes); it was dropped`);
    this.name = 'LineTooLongError';
  }
}

/** A line that is not a JSON-RPC message (garbage on the agent's stdout). */
export class InvalidLineError extends Error {
  constructor(
    readonly excerpt: string,
    readonly reason: string,
  ) {
    super(`agent wrote a line that is not a JSON-RPC message (${reason}): ${JSON.stringify(excerpt)}`);
    this.name = 'InvalidLineError';
  }
}

export interface NdjsonReaderOptions {
  maxLineBytes?: number;
  highWaterBytes?: number;
}

export class NdjsonMessageReader extends AbstractMessageReader {
  private readonly maxLineBytes: number;
  private readonly highWaterBytes: number;
  /** The unfinished line, in the chunks it arrived in. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Set while the rest of an overlong line is being skipped. */
  private discarding = false;
  /** Bytes of messages handed to the connection and not yet handled. */
  private unhandledBytes = 0;
  private readonly sizes = new WeakMap<object, number>();
  private paused = false;
  private callback: DataCallback | undefined;

  constructor(
    private readonly input: Readable,
    options: NdjsonReaderOptions = {},
  ) {
    super();
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer) => this.onChunk(chunk);
    const onEnd = () => this.finish();
    const onError = (err: Error) => this.fireError(err);
    this.input.on('data', onData);
    this.input.once('end', onEnd);
    this.input.on('error', onError);
    return Disposable.create(() => {
      this.input.off('data', onData);
      this.input.off('end', onEnd);
      this.input.off('error', onError);
      this.callback = undefined;
    });
  }

  /** Bytes of messages delivered and not yet handled. */
  get pendingBytes(): number {
    return this.unhandledBytes;
  }

  /** The connection handled `message`: its bytes leave the read-ahead budget. */
  handled(message: Message): void {
    const size = this.sizes.get(message);
    if (size === undefined) return;
    this.unhandledBytes -= size;
    if (this.paused && this.unhandledBytes <= this.highWaterBytes / 2) {
      this.paused = false;
      this.input.resume();
    }
  }

  private onChunk(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      this.take(chunk, start, end);
      if (nl === -1) break;
      this.endLine();
      start = nl + 1;
    }
  }

  /** Adds bytes of the current line, dropping them once the line is over its bound. */
  private take(chunk: Buffer, start: number, end: number): void {
    if (this.discarding || end === start) return;
    if (this.partialBytes + (end - start) > this.maxLineBytes) {
      this.partial = [];
      this.partialBytes = 0;
      this.discarding = true;
      this.fireError(new LineTooLongError(this.maxLineBytes));
      return;
    }
    this.partial.push(chunk.subarray(start, end));
    this.partialBytes += end - start;
  }

  private endLine(): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    const parts = this.partial;
    const size = this.partialBytes;
    this.partial = [];
    this.partialBytes = 0;
    if (size === 0) return;
    const line = parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
    this.deliver(line.toString('utf8'), size);
  }

  private deliver(text: string, size: number): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      if (text.trim() === '') return;
      this.fireError(new InvalidLineError(text.slice(0, EXCERPT_CHARS), 'not JSON'));
      return;
    }
    if (!isJsonRpcMessage(message)) {
      this.fireError(new InvalidLineError(text.slice(0, EXCERPT_CHARS), 'not a JSON-RPC request, notification or response'));
      return;
    }
    this.sizes.set(message, size);
    this.unhandledBytes += size;
    if (!this.paused && this.unhandledBytes > this.highWaterBytes) {
      this.paused = true;
      this.input.pause();
    }
    this.callback?.(message);
  }

  private finish(): void {
    // A last message without its newline still counts.
    if (this.partialBytes > 0 && !this.discarding) this.endLine();
    this.fireClose();
  }
}

function isJsonRpcMessage(v: unknown): v is Message {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const m = v as Record<string, unknown>;
  if (typeof m.method === 'string') return true;
  return 'id' in m && ('result' in m || 'error' in m);
}

export class NdjsonMessageWriter extends AbstractMessageWriter {
  private errors = 0;

  constructor(private readonly output: Writable) {
    super();
    // EPIPE after the agent died is reported through the connection, never thrown at the process.
    output.on('error', (err) => this.fireError(err, undefined, ++this.errors));
    output.once('close', () => this.fireClose());
  }

  /**
   * Never rejects: a failed write is reported through `onError`. (vscode-jsonrpc's `sendRequest` rethrows
   * a rejected write from inside a promise executor, where nobody can catch it.)
   */
  write(message: Message): Promise<void> {
    if (this.output.destroyed || this.output.writableEnded) {
      this.fireError(new Error("the agent's stdin is closed"), message, ++this.errors);
      return Promise.resolve();
    }
    const line = `${JSON.stringify(message)}\n`;
    return new Promise((resolve) => {
      this.output.write(line, (err) => {
        if (err) this.fireError(err, message, ++this.errors);
        resolve();
      });
    });
  }

  end(): void {
    this.output.end();
  }
}
