// `GET /jobs/{id}/stream`: the job as Server-Sent Events, from its start or from `Last-Event-ID`.
// Every event id is a cursor `stdoutOffset.stderrOffset.eventSeq`, so a client that reconnects
// resumes exactly where it stopped, with no state kept here.
import type { Request, Response } from 'express';
import type { Job } from '../jobs/job';
import { BadRequest } from '../errors';

/** Bytes of output per SSE event; larger output goes out as several events. */
export const SSE_CHUNK_BYTES = 64 * 1024;
/**
 * What one stream sends in one turn of the event loop before it lets other work run (a reader as fast as
 * the job catches up in turns of this size, so the server keeps answering everyone else).
 */
export const SSE_TURN_BYTES = 1024 * 1024;
/** ...or the time one turn may take, whichever comes first. */
export const SSE_TURN_MS = 20;
/** A comment line this often keeps proxies and tunnels from closing an idle stream. */
export const SSE_HEARTBEAT_MS = 15_000;

interface Cursor {
  out: number;
  err: number;
  ev: number;
}

export function parseCursor(id: string | undefined): Cursor {
  if (!id) return { out: 0, err: 0, ev: 0 };
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(id.trim());
  if (!m) throw new BadRequest('Last-Event-ID must look like "stdoutOffset.stderrOffset.eventSeq"');
  return { out: Number(m[1]), err: Number(m[2]), ev: Number(m[3]) };
}

export function streamJob(job: Job, req: Request, res: Response, endView: () => unknown): void {
  const cursor = parseCursor((req.headers['last-event-id'] as string | undefined) ?? (req.query.from as string | undefined));
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 1000\n\n');
  let lastStatus = '';
  let events = job.events.cursor(cursor.ev);
  /**
   * `idle` until the job changes; `busy` during a turn; `draining` while the socket's buffer is full (one
   * 'drain' listener); `yielded` between two turns of a long catch-up; `closed` for good. Changes of the
   * job are ignored unless idle: the turn that comes next reads whatever is new then.
   */
  let state: 'idle' | 'busy' | 'draining' | 'yielded' | 'closed' = 'idle';
  let nextTurn: NodeJS.Immediate | undefined;

  const send = (event: string, data: unknown) => {
    const id = `${cursor.out}.${cursor.err}.${cursor.ev}`;
    return res.write(`event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  /**
   * Sends what is new, one chunk at a time, until the socket's buffer is full ('drain'), the turn's budget
   * is spent ('more': the loop serves others before the next turn), or everything is sent ('done').
   */
  const turn = (): 'drain' | 'more' | 'done' => {
    const began = performance.now();
    let sent = 0;
    const spent = () => sent >= SSE_TURN_BYTES || performance.now() - began >= SSE_TURN_MS;
    const final = job.isFinal();
    if (job.record.status !== lastStatus) {
      lastStatus = job.record.status;
      if (!send('status', { status: lastStatus })) return 'drain';
    }
    for (const [name, key] of [
      ['stdout', 'out'],
      ['stderr', 'err'],
    ] as const) {
      for (;;) {
        if (spent()) return 'more';
        const slice = job[name].read(cursor[key], SSE_CHUNK_BYTES, final);
        if (slice.next <= cursor[key]) break;
        sent += slice.next - cursor[key];
        cursor[key] = slice.next;
        if (!send(name, { text: slice.text, offset: slice.offset })) return 'drain';
      }
    }
    for (;;) {
      if (spent()) return 'more';
      const page = job.events.read(events, SSE_CHUNK_BYTES);
      if (page.events.length === 0) break;
      sent += page.next.pos - events.pos;
      events = page.next;
      // A page is one chunk: sent whole, then the buffer is checked.
      let room = true;
      for (const e of page.events) {
        cursor.ev = e.seq + 1;
        room = send('acp', e) && room;
      }
      if (!room) return 'drain';
    }
    if (final && job.events.size() <= cursor.ev) {
      send('end', endView());
      close();
      res.end();
    }
    return 'done';
  };

  const pump = () => {
    if (state !== 'idle') return;
    state = 'busy';
    let result: ReturnType<typeof turn>;
    try {
      result = turn();
    } catch {
      // A log that cannot be read (removed under us): end the connection, so the client's reconnect (with
      // its Last-Event-ID) gets an answer, rather than leave it waiting on a stream that will never move.
      close();
      res.destroy();
      return;
    }
    if (state !== 'busy') return; // closed during the turn
    if (result === 'drain') {
      state = 'draining';
      res.once('drain', later);
    } else if (result === 'more') later();
    else state = 'idle';
  };
  const resume = () => {
    if (state === 'closed') return;
    state = 'idle';
    pump();
  };
  // Never straight from 'drain': a response corks its socket and uncorks it on the next tick, so to a fast
  // reader 'drain' comes in the same tick as the turn that filled the buffer, and turns started from it
  // would follow each other without the loop ever serving anyone else.
  const later = () => {
    if (state === 'closed') return;
    state = 'yielded';
    nextTurn = setImmediate(resume);
  };

  // Skipped while the client is not reading: it would only add to what waits for it.
  const heartbeat = setInterval(() => state !== 'draining' && res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  const unsubscribe = job.subscribe(pump);
  const close = () => {
    state = 'closed';
    clearInterval(heartbeat);
    clearImmediate(nextTurn);
    res.off('drain', later);
    unsubscribe();
  };
  res.once('close', close);
  pump();
}
