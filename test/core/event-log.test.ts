// A job's event log read back: from any event on (as a stream resuming from Last-Event-ID does), from memory
// and from the file, a page at a time, and after a crash that cut its last line short.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog, type EventCursor, type JobEvent } from '../../src/server/jobs/event-log';
import { tempDir } from '../helpers/server';

function readAll(log: EventLog, from: EventCursor, maxBytes: number): JobEvent[] {
  const out: JobEvent[] = [];
  let at = from;
  for (;;) {
    const page = log.read(at, maxBytes);
    if (page.events.length === 0) return out;
    assert.ok(page.events.length === 1 || page.events.length * 20 <= maxBytes + 200, 'a page stays near its byte budget');
    out.push(...page.events);
    at = page.next;
  }
}

const seqs = (events: JobEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('event log', () => {
  it('replays from any event on, whole and in order, from memory and from the file', () => {
    const path = join(tempDir(), 'events.jsonl');
    const log = new EventLog(path);
    for (let i = 0; i < 2500; i++) log.append('update', { i, text: 'x'.repeat(i % 50) });
    const reloaded = new EventLog(path);
    reloaded.load();
    assert.equal(reloaded.size(), 2500);
    assert.deepEqual(seqs(reloaded.latest()), range(2000, 2500));
    for (const l of [log, reloaded]) {
      for (const start of [0, 1, 999, 1000, 1001, 1999, 2000, 2200, 2499, 2500, 9999]) {
        for (const budget of [1, 4096, 1 << 20]) {
          const events = readAll(l, l.cursor(start), budget);
          assert.deepEqual(seqs(events), range(Math.min(start, 2500), 2500), `from ${start}, pages of ${budget} bytes`);
          assert.deepEqual(events[0]?.data ?? null, start < 2500 ? { i: start, text: 'x'.repeat(start % 50) } : null);
        }
      }
    }
  });

  it('goes on after a line a crash cut short, losing only that line', () => {
    const path = join(tempDir(), 'events.jsonl');
    const log = new EventLog(path);
    for (let i = 0; i < 3; i++) log.append('update', { i });
    appendFileSync(path, '{"seq":3,"type":"upd');
    const after = new EventLog(path);
    after.load();
    assert.equal(after.size(), 3);
    after.append('update', { i: 'after the crash' });
    const again = new EventLog(path);
    again.load();
    assert.equal(again.size(), 4);
    assert.deepEqual(seqs(readAll(again, again.cursor(0), 1)), [0, 1, 2, 3]);
    assert.deepEqual(again.latest().at(-1)!.data, { i: 'after the crash' });
    assert.match(readFileSync(path, 'utf8'), /"upd\n\{"seq":3,/);
  });
});
