// A job as the API shows it: the predecessor's fields, the output (whole, a tail, or from byte offsets),
// and ours.
import type { Job } from '../jobs/job';
import { BadRequest } from '../errors';
import type { OutputSlice } from '../jobs/output-log';

export interface OutputQuery {
  stdoutFrom?: number;
  stderrFrom?: number;
  tailLines?: number;
}

/** Output per stream per job in `GET /jobs` (a list should stay small); the job itself has the rest. */
export const LIST_OUTPUT_BYTES = 64 * 1024;

export function parseOutputQuery(q: Record<string, unknown>): OutputQuery {
  return {
    stdoutFrom: nonNegativeInt(q, 'stdoutFrom'),
    stderrFrom: nonNegativeInt(q, 'stderrFrom'),
    tailLines: nonNegativeInt(q, 'tailLines'),
  };
}

export function nonNegativeInt(q: Record<string, unknown>, name: string): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw new BadRequest(`${name} must be a non-negative integer`);
  return Number(v);
}

/**
 * `markCut: false` leaves out the line that says, in a tail's text, how to read what was cut off (a
 * caller that says it in its own words: the MCP tools).
 */
export function jobView(job: Job, query: OutputQuery, maxOutputBytes: number, opts: { markCut?: boolean } = {}): Record<string, unknown> {
  const markCut = opts.markCut ?? true;
  const r = job.record;
  const { requestHash: _hidden, ...fields } = r.fields;
  const view: Record<string, unknown> = {
    jobId: r.jobId,
    status: r.status,
    mode: r.mode,
    command: r.command,
    workdir: r.workdir,
    timeout: r.timeout,
    submittedAt: r.submittedAt,
    startedAt: r.startedAt ?? null,
    finishedAt: r.finishedAt ?? null,
    lastOutputAt: job.lastOutputAt() ?? null,
    processAlive: job.running?.alive() ?? false,
    ...outputFields('stdout', job, query.stdoutFrom, query.tailLines, maxOutputBytes, markCut),
    ...outputFields('stderr', job, query.stderrFrom, query.tailLines, maxOutputBytes, markCut),
    ...fields,
  };
  if (job.isFinal()) {
    Object.assign(view, { exitCode: r.exitCode ?? null, durationMs: r.durationMs ?? 0, timedOut: r.timedOut ?? false, endReason: r.endReason });
    if (r.cancelled) view.cancelled = true;
    if (r.interrupted) view.interrupted = true;
    if (r.error) view.error = r.error;
  }
  if (job.events.size() > 0) {
    view.events = job.events.latest();
    view.eventCount = job.events.size();
  }
  return view;
}

function outputFields(name: 'stdout' | 'stderr', job: Job, from: number | undefined, tailLines: number | undefined, max: number, markCut: boolean) {
  const log = job[name];
  const final = job.isFinal();
  let slice: OutputSlice;
  let marker = '';
  if (from !== undefined) {
    slice = log.read(from, max, final);
  } else {
    slice = log.tail(max, final, tailLines);
    // A client of the predecessor reads `stdout` whole; when it is longer than a response may carry, say so in the
    // text itself as well as in the fields, so nothing is cut silently.
    if (markCut && slice.offset > 0 && tailLines === undefined) {
      marker = `[agent-runtime: ${slice.offset} earlier bytes of ${name} not shown; GET /jobs/${job.id}?${name}From=0 reads them]\n`;
    }
  }
  const out: Record<string, unknown> = {
    [name]: marker + slice.text,
    [`${name}Bytes`]: slice.total,
    [`${name}Offset`]: slice.offset,
    [`${name}Next`]: slice.next,
  };
  if (slice.truncated) out[`${name}Truncated`] = true;
  return out;
}
