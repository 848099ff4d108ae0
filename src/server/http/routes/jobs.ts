// `POST /exec` and `/jobs/*`: submit, read (whole, by offset, long-poll), stream, nudge, input, cancel.
import { Router, type Request } from 'express';
import { BadRequest, HttpError } from '../../errors';
import type { Job } from '../../jobs/job';
import type { JobManager } from '../../jobs/manager';
import { jobView, LIST_OUTPUT_BYTES, parseOutputQuery } from '../job-view';
import { sendJson } from '../respond';
import { streamJob } from '../sse';
import { waitFor, whenCurrent } from '../wait';

export interface JobRouteLimits {
  maxResponseOutputBytes: number;
  maxWaitSeconds: number;
  killGraceMs: number;
}

/** How many jobs `GET /jobs` lists, as the seed. */
export const JOBS_LISTED = 20;

export function jobRoutes(manager: JobManager, limits: JobRouteLimits): Router {
  const r = Router();
  const store = manager.store;
  const find = (req: Request): Job => {
    const job = store.get(String(req.params.id));
    if (!job) throw new HttpError(404, 'job not found');
    return job;
  };

  r.post('/exec', (req, res) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('request body must be a JSON object');
    const key = req.headers['idempotency-key'] as string | undefined; // node joins a repeated header into one
    if (key !== undefined && (key.length === 0 || key.length > 256)) throw new BadRequest('Idempotency-Key must be 1 to 256 characters');
    const { job, replayed } = manager.submit(body as Record<string, unknown>, key);
    // The seed answers `pending` for a new job whatever has happened since; a replay tells the truth.
    sendJson(res, 202, { jobId: job.id, status: replayed ? job.record.status : 'pending' }, replayed ? { 'Idempotent-Replayed': 'true' } : {});
  });

  r.get('/jobs/:id', async (req, res) => {
    // Tested first so the usual request (not pipelined behind another) goes on in the same tick.
    if (!res.socket && !(await whenCurrent(res))) return;
    const job = find(req);
    const query = parseOutputQuery(req.query);
    const waitS = parseWait(req.query.wait, limits.maxWaitSeconds);
    if (waitS > 0) {
      const status = job.record.status;
      const outFrom = query.stdoutFrom ?? job.stdout.size();
      const errFrom = query.stderrFrom ?? job.stderr.size();
      const events = job.events.size();
      const hasNews = () =>
        job.record.status !== status || job.isFinal() || job.stdout.size() > outFrom || job.stderr.size() > errFrom || job.events.size() > events;
      await waitFor(job, hasNews, waitS * 1000, res);
    }
    sendJson(res, 200, jobView(job, query, limits.maxResponseOutputBytes));
  });

  r.get('/jobs', async (_req, res) => {
    if (!(await whenCurrent(res))) return;
    sendJson(
      res,
      200,
      store.recent(JOBS_LISTED).map((j) => jobView(j, {}, LIST_OUTPUT_BYTES)),
    );
  });

  r.get('/jobs/:id/stream', (req, res) => {
    const job = find(req);
    streamJob(job, req, res, () => jobView(job, { stdoutFrom: job.stdout.size(), stderrFrom: job.stderr.size() }, 0));
  });

  r.post('/jobs/:id/nudge', (req, res) => {
    const job = find(req);
    const result = job.running?.write('\n', false) ?? { ok: false as const, reason: 'process not running' };
    const processAlive = job.running?.alive() ?? false;
    sendJson(res, 200, result.ok ? { nudged: true, processAlive } : { nudged: false, reason: result.reason, processAlive });
  });

  r.post('/jobs/:id/input', (req, res) => {
    const job = find(req);
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('request body must be a JSON object');
    const { data = '', eof = false } = body as { data?: unknown; eof?: unknown };
    if (typeof data !== 'string') throw new BadRequest('data must be a string');
    if (typeof eof !== 'boolean') throw new BadRequest('eof must be a boolean');
    const result = job.running?.write(data, eof) ?? { ok: false as const, reason: 'process not running' };
    if (!result.ok) throw new HttpError(409, result.reason, { processAlive: job.running?.alive() ?? false });
    sendJson(res, 200, { written: Buffer.byteLength(data), eof });
  });

  r.post('/jobs/:id/cancel', async (req, res) => {
    const job = find(req);
    manager.cancel(job);
    await waitFor(job, () => job.isFinal(), limits.killGraceMs + 3000, res);
    sendJson(res, job.isFinal() ? 200 : 202, jobView(job, {}, limits.maxResponseOutputBytes));
  });

  return r;
}

function parseWait(v: unknown, max: number): number {
  if (v === undefined) return 0;
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new BadRequest('wait must be a number of seconds');
  return Math.min(n, max);
}
