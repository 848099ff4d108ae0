// One job: its persisted record, its output logs and events, and the change signal that wakes
// long-polls and streams.
import { EventEmitter } from 'node:events';
import { closeSync, constants, ftruncateSync, openSync, readFileSync, renameSync, writeSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { EventLog, type JobEvent } from './event-log';
import { OutputLog } from './output-log';
import { FINAL_STATUSES, type JobRecord, type RunningJob } from './types';

export const RECORD_FILE = 'job.json';
/** The output logs in a job's folder (see JobStore's spare folders). */
export const LOG_FILES = ['stdout.log', 'stderr.log'] as const;
/** The largest record written in place: one page, which a single write stores whole. */
const ATOMIC_WRITE_BYTES = 4096;

/** A saved record: the text up to the first newline (see Job.save). */
export function readRecord(dir: string): JobRecord {
  const text = readFileSync(join(dir, RECORD_FILE), 'utf8');
  const end = text.indexOf('\n');
  return JSON.parse(end === -1 ? text : text.slice(0, end)) as JobRecord;
}

/**
 * Writes a record (newline-terminated text) in place, then trims what an earlier, longer version left: a
 * crash between the two leaves the new record and a tail that `readRecord` ignores. A record that fits
 * in one page is written by a single write, which a crash of the process cannot split; a longer one goes
 * through a temporary file and a rename. (A rename per save cost 0.4 ms here, a third of the server's
 * time per job; the in-place write costs a few microseconds once the file exists.)
 */
export function writeRecord(dir: string, text: string): void {
  const path = join(dir, RECORD_FILE);
  const data = Buffer.from(text);
  const inPlace = data.length <= ATOMIC_WRITE_BYTES;
  const target = inPlace ? path : `${path}.tmp`;
  const fd = openSync(target, inPlace ? constants.O_WRONLY | constants.O_CREAT : 'w', 0o600);
  try {
    writeSync(fd, data, 0, data.length, 0);
    if (inPlace) ftruncateSync(fd, data.length);
  } finally {
    closeSync(fd);
  }
  if (!inPlace) renameSync(target, path);
}

/** How often the size of directly-written logs is checked while someone waits, in case fs.watch is silent. */
const OUTPUT_POLL_MS = 200;
/** Waiters hear of a shell job's writes at most once per this many ms (see outputWritten). */
const OUTPUT_COALESCE_MS = 5;

export class Job {
  readonly stdout: OutputLog;
  readonly stderr: OutputLog;
  readonly events: EventLog;
  running: RunningJob | undefined;
  private readonly changes = new EventEmitter();
  private watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private coalesce: NodeJS.Timeout | undefined;

  constructor(
    readonly record: JobRecord,
    readonly dir: string,
  ) {
    this.stdout = new OutputLog(join(dir, LOG_FILES[0]));
    this.stderr = new OutputLog(join(dir, LOG_FILES[1]));
    this.events = new EventLog(join(dir, 'events.jsonl'));
    this.changes.setMaxListeners(0);
  }

  get id(): string {
    return this.record.jobId;
  }

  isFinal(): boolean {
    return FINAL_STATUSES.includes(this.record.status);
  }

  save(): void {
    writeRecord(this.dir, `${JSON.stringify(this.record)}\n`);
  }

  /** Unix seconds of the last output or event, else of the start (the predecessor's `lastOutputAt`). */
  lastOutputAt(): number | undefined {
    const times = [this.record.startedAt, this.stdout.modifiedAt(), this.stderr.modifiedAt(), this.events.lastAt()];
    const known = times.filter((t): t is number => t !== undefined && (this.record.startedAt === undefined || t >= this.record.startedAt - 1));
    return known.length ? Math.max(...known) : undefined;
  }

  addEvent(type: string, data: unknown): JobEvent {
    const event = this.events.append(type, data);
    this.changed();
    return event;
  }

  /** Wakes whoever waits on this job. */
  changed(): void {
    this.changes.emit('change');
  }

  /**
   * Calls `listener` on every change until the returned function is called. While anyone listens to a
   * running job, its log files are watched, because a shell job's child writes them without telling us.
   */
  subscribe(listener: () => void): () => void {
    this.changes.on('change', listener);
    if (!this.isFinal()) this.startWatching();
    return () => {
      this.changes.off('change', listener);
      if (this.changes.listenerCount('change') === 0) this.stopWatching();
    };
  }

  /** A job's logs exist once it has started: whoever already waits for it now hears of its writes. */
  started(): void {
    if (this.poll && this.watchers.length === 0 && !this.coalesce) this.watch();
    this.changed();
  }

  stopWatching(): void {
    this.unwatch();
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    clearTimeout(this.coalesce);
    this.coalesce = undefined;
  }

  private startWatching(): void {
    if (this.poll) return;
    this.watch();
    let sizes = [this.stdout.size(), this.stderr.size()];
    this.poll = setInterval(() => {
      const now = [this.stdout.size(), this.stderr.size()];
      if (now[0] !== sizes[0] || now[1] !== sizes[1]) this.changed();
      sizes = now;
    }, OUTPUT_POLL_MS);
    this.poll.unref();
  }

  private watch(): void {
    for (const log of [this.stdout, this.stderr]) {
      try {
        this.watchers.push(watch(log.path, { persistent: false }, () => this.outputWritten()));
      } catch {
        // the poll still notices growth
      }
    }
  }

  private unwatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /**
   * The first write after a quiet spell: stop listening (a busy child writes a hundred thousand times a
   * second, each an event), and a moment later listen again and wake the waiters, who read the sizes
   * then, so no write goes unnoticed.
   */
  private outputWritten(): void {
    if (this.coalesce) return;
    this.unwatch();
    this.coalesce = setTimeout(() => {
      this.coalesce = undefined;
      this.watch();
      this.changed();
    }, OUTPUT_COALESCE_MS);
  }
}
