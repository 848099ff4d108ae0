// Structured events of a job (ACP updates, permission decisions), one JSON object per line on disk,
// with the most recent ones in memory for responses. Replays read the file forward from a byte position
// (an event's line), so a stream of N events reads and parses each line once, never the file per page.
import { appendFileSync, closeSync, openSync, readSync, statSync } from 'node:fs';

export interface JobEvent {
  /** Position in the job's event sequence, from 0. */
  seq: number;
  type: string;
  /** Unix seconds. */
  timestamp: number;
  data: unknown;
}

/** Where a replay stands: the next event wanted, and a byte offset in the file at or before its line. */
export interface EventCursor {
  seq: number;
  pos: number;
}

/** Events included in a job response, as the predecessor (older ones stay on disk and in the stream). */
export const EVENTS_IN_RESPONSE = 500;
/** One byte offset is remembered per this many events, so a replay from any seq skips at most this many lines. */
const INDEX_EVERY = 1000;
/** Bytes read from the file at a time (a line longer than this is read whole, in several reads). */
const READ_BLOCK_BYTES = 64 * 1024;

export class EventLog {
  private recent: JobEvent[] = [];
  /** Byte offset of each recent event's line. */
  private recentPos: number[] = [];
  private count = 0;
  /** Bytes in the file: where the next line goes. */
  private bytes = 0;
  /** The file ends inside a line (a crash mid-write): the next append starts a new one. */
  private cutShort = false;
  private indexSeq: number[] = [];
  private indexPos: number[] = [];

  constructor(readonly path: string) {}

  /** Reads what a previous run of the server recorded (one pass over the file). */
  load(): void {
    this.recent = [];
    this.recentPos = [];
    this.indexSeq = [];
    this.indexPos = [];
    this.count = 0;
    const end = readLines(this.path, 0, (line, start) => {
      const event = parseEvent(line);
      if (event) this.remember(event, start);
      return true;
    });
    this.bytes = statSync(this.path, { throwIfNoEntry: false })?.size ?? 0;
    this.cutShort = this.bytes > end;
  }

  size(): number {
    return this.count;
  }

  append(type: string, data: unknown): JobEvent {
    const event: JobEvent = { seq: this.count, type, timestamp: Date.now() / 1000, data };
    const line = `${this.cutShort ? '\n' : ''}${JSON.stringify(event)}\n`;
    appendFileSync(this.path, line, { mode: 0o600 });
    const start = this.bytes + (this.cutShort ? 1 : 0);
    this.bytes += Buffer.byteLength(line);
    this.cutShort = false;
    this.remember(event, start);
    return event;
  }

  latest(n = EVENTS_IN_RESPONSE): JobEvent[] {
    return this.recent.slice(-n);
  }

  lastAt(): number | undefined {
    return this.recent.at(-1)?.timestamp;
  }

  /** A cursor for a replay from event `seq` on, starting at the nearest remembered line before it. */
  cursor(seq: number): EventCursor {
    let lo = 0;
    let hi = this.indexSeq.length - 1;
    let pos = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.indexSeq[mid] <= seq) {
        pos = this.indexPos[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return { seq, pos };
  }

  /**
   * The events at the cursor, about `maxBytes` of them (at least one when there is one), and the cursor
   * after them. Recent events come from memory; older ones from the file, from the cursor's position.
   */
  read(at: EventCursor, maxBytes: number): { events: JobEvent[]; next: EventCursor } {
    const events: JobEvent[] = [];
    if (at.seq >= this.count) return { events, next: at };
    const first = this.recent[0]?.seq ?? this.count;
    if (at.seq >= first) {
      let i = this.recent.findIndex((e) => e.seq >= at.seq);
      let taken = 0;
      let next = at;
      while (i !== -1 && i < this.recent.length && (events.length === 0 || taken < maxBytes)) {
        const end = this.recentPos[i + 1] ?? this.bytes;
        events.push(this.recent[i]);
        taken += end - this.recentPos[i];
        next = { seq: this.recent[i].seq + 1, pos: end };
        i++;
      }
      return { events, next };
    }
    let next = at;
    let taken = 0;
    readLines(this.path, at.pos, (line, start, end) => {
      const event = parseEvent(line);
      if (!event || event.seq < at.seq) {
        next = { seq: at.seq, pos: end };
        return true;
      }
      events.push(event);
      taken += end - start;
      next = { seq: event.seq + 1, pos: end };
      return taken < maxBytes;
    });
    return { events, next };
  }

  private remember(event: JobEvent, pos: number): void {
    this.count++;
    const lastIndexed = this.indexSeq.at(-1);
    if (lastIndexed === undefined || event.seq >= lastIndexed + INDEX_EVERY) {
      this.indexSeq.push(event.seq);
      this.indexPos.push(pos);
    }
    this.recent.push(event);
    this.recentPos.push(pos);
    if (this.recent.length > EVENTS_IN_RESPONSE * 2) {
      this.recent = this.recent.slice(-EVENTS_IN_RESPONSE);
      this.recentPos = this.recentPos.slice(-EVENTS_IN_RESPONSE);
    }
  }
}

function parseEvent(line: string): JobEvent | undefined {
  if (!line) return undefined;
  try {
    const event = JSON.parse(line) as JobEvent;
    return typeof event?.seq === 'number' ? event : undefined;
  } catch {
    return undefined; // a line cut short by a crash mid-write: the events around it still count
  }
}

/**
 * Calls `onLine(text, start, end)` for each complete line of the file from byte `from` on (start and end
 * are byte offsets, end past the newline) until it returns false or the file ends. Returns the offset
 * after the last line passed; a last line without its newline is not passed.
 */
function readLines(path: string, from: number, onLine: (line: string, start: number, end: number) => boolean): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return from;
  }
  try {
    const block = Buffer.allocUnsafe(READ_BLOCK_BYTES);
    /** Bytes of an unfinished line read so far (copies: the block is reused). */
    let partial: Buffer[] = [];
    let lineStart = from;
    let readAt = from;
    for (;;) {
      const n = readSync(fd, block, 0, block.length, readAt);
      if (n === 0) return lineStart;
      let at = 0;
      for (let nl = block.indexOf(10, 0); nl !== -1 && nl < n; nl = block.indexOf(10, at)) {
        const piece = block.subarray(at, nl);
        const text = partial.length ? Buffer.concat([...partial, piece]).toString('utf8') : piece.toString('utf8');
        partial = [];
        const end = readAt + nl + 1;
        const more = onLine(text, lineStart, end);
        lineStart = end;
        at = nl + 1;
        if (!more) return lineStart;
      }
      if (at < n) partial.push(Buffer.from(block.subarray(at, n)));
      readAt += n;
    }
  } finally {
    closeSync(fd);
  }
}
