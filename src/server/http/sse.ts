// `GET /jobs/{id}/stream`: the job as Server-Sent Events, from its start or from `Last-Event-ID`.
// Every event id is a cursor `stdoutOffset.stderrOffset.eventSeq`, so a client that reconnects
// resumes exactly where it stopped, with no state kept here.
import type { Request, Response } from 'express';
import type { Job } from '../jobs/job';
import { BadRequest } from '../errors';

/** Bytes of output per SSE event; larger output goes out as several events. */
export const SSE_CHUNK_BYTES = 64 * 1024;
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
  let pumping = false;
  let closed = false;

  const send = (event: string, data: unknown) => {
    const id = `${cursor.out}.${cursor.err}.${cursor.ev}`;
    return res.write(`event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  /** Sends what is new; stops early when the socket's buffer is full and resumes on 'drain'. */
  const pump = () => {
    if (pumping || closed) return;
    pumping = true;
    try {
      const final = job.isFinal();
      if (job.record.status !== lastStatus) {
        lastStatus = job.record.status;
        if (!send('status', { status: lastStatus })) return void res.once('drain', pump);
      }
      for (const [name, key] of [['stdout', 'out'], ['stderr', 'err']] as const) {
        for (;;) {
          const slice = job[name].read(cursor[key], SSE_CHUNK_BYTES, final);
          if (slice.next <= cursor[key]) break;
          cursor[key] = slice.next;
          if (!send(name, { text: slice.text, offset: slice.offset })) return void res.once('drain', pump);
        }
      }
      for (const e of job.events.from(cursor.ev, 1000)) {
        cursor.ev = e.seq + 1;
        if (!send('acp', e)) return void res.once('drain', pump);
      }
      if (final && job.events.size() <= cursor.ev) {
        send('end', endView());
        close();
        res.end();
      }
    } finally {
      pumping = false;
    }
  };

  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  const unsubscribe = job.subscribe(pump);
  const close = () => {
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
  };
  res.once('close', close);
  pump();
}
