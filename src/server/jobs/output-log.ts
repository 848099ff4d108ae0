// One output stream of a job, kept in a file in the state dir. A shell job's child writes into the file
// directly (no bytes pass through this process, so memory stays flat whatever it prints, and output
// written while the server is down is not lost); other runners append. Reads are by byte offset and
// never split a UTF-8 character.
import { closeSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';

export interface OutputSlice {
  text: string;
  /** Byte offset where `text` begins. */
  offset: number;
  /** Byte offset to read from next (the end of `text`, at a character boundary). */
  next: number;
  /** Bytes in the stream so far. */
  total: number;
  /** True when more bytes lie beyond `next` (the read was cut by its byte limit) or before `offset` (a tail). */
  truncated: boolean;
}

export class OutputLog {
  private appendFd: number | undefined;

  constructor(readonly path: string) {}

  // Missing files are empty streams (a log appears with its first writer); asking without throwing
  // matters here, on every read of every job.
  size(): number {
    if (this.appendFd !== undefined) return fstatSync(this.appendFd).size;
    return statSync(this.path, { throwIfNoEntry: false })?.size ?? 0;
  }

  /** Last modification, unix seconds; undefined while nothing was written (the file may exist, empty). */
  modifiedAt(): number | undefined {
    const stat = statSync(this.path, { throwIfNoEntry: false });
    return stat && stat.size > 0 ? stat.mtimeMs / 1000 : undefined;
  }

  append(data: string | Buffer): void {
    if (this.appendFd === undefined) this.appendFd = openSync(this.path, 'a', 0o600);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let done = 0;
    while (done < buf.length) done += writeSync(this.appendFd, buf, done, buf.length - done);
  }

  close(): void {
    if (this.appendFd !== undefined) closeSync(this.appendFd);
    this.appendFd = undefined;
  }

  /**
   * Up to `maxBytes` from byte `from`. A start inside a character moves forward to the next character;
   * an end inside one moves back, unless the stream is `final` (then the stray bytes decode as U+FFFD).
   */
  read(from: number, maxBytes: number, final: boolean): OutputSlice {
    const total = this.size();
    const start = Math.min(Math.max(0, Math.floor(from)), total);
    const end = Math.min(total, start + maxBytes);
    const buf = this.readRange(start, end);
    const skip = start > 0 ? leadingContinuationBytes(buf) : 0;
    const keep = final && end === total ? buf.length : buf.length - incompleteTail(buf);
    const text = buf.subarray(Math.min(skip, keep), keep).toString('utf8');
    return { text, offset: start + Math.min(skip, keep), next: start + keep, total, truncated: start + keep < total };
  }

  /** The last `maxBytes` of the stream (at character boundaries), optionally only its last `lines` lines. */
  tail(maxBytes: number, final: boolean, lines?: number): OutputSlice {
    const total = this.size();
    const slice = this.read(Math.max(0, total - maxBytes), maxBytes, final);
    if (lines !== undefined) {
      const cut = lastLinesStart(slice.text, lines);
      slice.offset += Buffer.byteLength(slice.text.slice(0, cut), 'utf8');
      slice.text = slice.text.slice(cut);
    }
    slice.truncated = slice.offset > 0;
    return slice;
  }

  private readRange(start: number, end: number): Buffer {
    const buf = Buffer.allocUnsafe(end - start);
    if (buf.length === 0) return buf;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return Buffer.alloc(0);
    }
    try {
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }
}

const isContinuation = (b: number) => (b & 0xc0) === 0x80;

function leadingContinuationBytes(buf: Buffer): number {
  let n = 0;
  while (n < 3 && n < buf.length && isContinuation(buf[n])) n++;
  return n;
}

/** Bytes at the end of `buf` that begin a character whose remaining bytes have not arrived yet. */
export function incompleteTail(buf: Buffer): number {
  for (let back = 1; back <= Math.min(4, buf.length); back++) {
    const b = buf[buf.length - back];
    if (isContinuation(b)) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

function lastLinesStart(text: string, lines: number): number {
  if (lines <= 0) return text.length;
  let pos = text.endsWith('\n') ? text.length - 1 : text.length;
  for (let i = 0; i < lines; i++) {
    pos = text.lastIndexOf('\n', pos - 1);
    if (pos < 0) return 0;
  }
  return pos + 1;
}
