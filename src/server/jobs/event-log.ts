// Structured events of a job (ACP updates, permission decisions), one JSON object per line on disk,
// with the most recent ones in memory for responses.
import { appendFileSync, readFileSync } from 'node:fs';

export interface JobEvent {
  /** Position in the job's event sequence, from 0. */
  seq: number;
  type: string;
  /** Unix seconds. */
  timestamp: number;
  data: unknown;
}

/** Events included in a job response, as the seed (older ones stay on disk and in the stream). */
export const EVENTS_IN_RESPONSE = 500;

export class EventLog {
  private recent: JobEvent[] = [];
  private count = 0;

  constructor(readonly path: string) {}

  /** Reads what a previous run of the server recorded. */
  load(): void {
    const all = this.readAll();
    this.count = all.length;
    this.recent = all.slice(-EVENTS_IN_RESPONSE);
  }

  size(): number {
    return this.count;
  }

  append(type: string, data: unknown): JobEvent {
    const event: JobEvent = { seq: this.count++, type, timestamp: Date.now() / 1000, data };
    appendFileSync(this.path, `${JSON.stringify(event)}\n`, { mode: 0o600 });
    this.recent.push(event);
    if (this.recent.length > EVENTS_IN_RESPONSE * 2) this.recent = this.recent.slice(-EVENTS_IN_RESPONSE);
    return event;
  }

  latest(n = EVENTS_IN_RESPONSE): JobEvent[] {
    return this.recent.slice(-n);
  }

  lastAt(): number | undefined {
    return this.recent.at(-1)?.timestamp;
  }

  /** Events from `seq` on, at most `max`. */
  from(seq: number, max: number): JobEvent[] {
    const first = this.recent[0]?.seq ?? this.count;
    const source = seq >= first ? this.recent : this.readAll();
    return source.filter((e) => e.seq >= seq).slice(0, max);
  }

  private readAll(): JobEvent[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    const out: JobEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as JobEvent);
      } catch {
        // a line cut short by a crash mid-write: the events before it still count
      }
    }
    return out;
  }
}
