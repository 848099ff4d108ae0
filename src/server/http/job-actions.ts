// What a client does to a job, once: find it, wait for news, write to its stdin, cancel it. The HTTP
// routes (routes/jobs.ts) and the MCP tools (mcp/tools.ts) both call these, so both answer alike.
import type { ServerResponse } from 'node:http';
import { HttpError } from '../errors';
import type { Job } from '../jobs/job';
import type { JobManager } from '../jobs/manager';
import type { JobStore } from '../jobs/store';
import type { OutputQuery } from './job-view';
import { waitFor } from './wait';

/** How long past the kill grace a cancel waits for the job to end before answering "still ending". */
const CANCEL_SLACK_MS = 3000;

export function findJob(store: JobStore, id: string): Job {
  const job = store.get(id);
  if (!job) throw new HttpError(404, 'job not found'); // the seed's words, which its clients may match
  return job;
}

// Each wait returns `waitFor`'s own promise, never one wrapping it (an `async` function would), so a caller
// that awaits it answers before the job's log watch may stop (wait.ts).

/**
 * Waits up to `seconds` for news after what the caller has seen: output past its offsets (or past the
 * current end when it gave none), a new event, a change of status. Returns at once for a final job.
 */
export function waitForNews(job: Job, query: OutputQuery, seconds: number, until: ServerResponse | AbortSignal): Promise<void> {
  if (seconds <= 0) return Promise.resolve();
  const status = job.record.status;
  const outFrom = query.stdoutFrom ?? job.stdout.size();
  const errFrom = query.stderrFrom ?? job.stderr.size();
  const events = job.events.size();
  const hasNews = () =>
    job.record.status !== status || job.isFinal() || job.stdout.size() > outFrom || job.stderr.size() > errFrom || job.events.size() > events;
  return waitFor(job, hasNews, seconds * 1000, until);
}

/** Waits up to `seconds` for the job to end. */
export function waitForEnd(job: Job, seconds: number, until: ServerResponse | AbortSignal): Promise<void> {
  return waitFor(job, () => job.isFinal(), seconds * 1000, until);
}

/** Writes to the job's stdin (`eof` closes it); 409 when it has none open. */
export function writeInput(job: Job, data: string, eof: boolean): { written: number; eof: boolean } {
  const result = job.running?.write(data, eof) ?? { ok: false as const, reason: 'process not running' };
  if (!result.ok) throw new HttpError(409, result.reason, { processAlive: job.running?.alive() ?? false });
  return { written: Buffer.byteLength(data), eof };
}

/** Cancels the job (409 when already final) and waits for it to end, up to the kill grace and a little more. */
export function cancelAndWait(manager: JobManager, job: Job, killGraceMs: number, until: ServerResponse | AbortSignal): Promise<void> {
  manager.cancel(job); // throws (409) for a finished job, before any wait
  return waitFor(job, () => job.isFinal(), killGraceMs + CANCEL_SLACK_MS, until);
}
