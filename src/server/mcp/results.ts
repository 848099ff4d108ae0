// What a tool answers: text a model reads (bounded, every cut marked with how to read on) and the same
// facts as `structuredContent` for a program.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Job } from '../jobs/job';
import { jobView, type OutputQuery } from '../http/job-view';

export function result(text: string, structured?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}) };
}

export function failure(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * `text` cut to at most `maxBytes` of UTF-8 (never inside a character), with a mark saying how much is
 * left out and `more` (how to get it) when it was cut.
 */
export function bounded(text: string, maxBytes: number, more: string): { text: string; cut: boolean } {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return { text, cut: false };
  let end = maxBytes;
  const buf = Buffer.from(text, 'utf8');
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return { text: `${buf.subarray(0, end).toString('utf8')}\n[… ${bytes - end} more bytes not shown; ${more}]`, cut: true };
}

/** Fields of a job that a tool result carries (the HTTP view's, without the event list). */
const JOB_FIELDS = [
  'jobId',
  'status',
  'mode',
  'command',
  'workdir',
  'processAlive',
  'exitCode',
  'endReason',
  'cancelled',
  'timedOut',
  'error',
  'durationMs',
  'stdout',
  'stderr',
  'stdoutBytes',
  'stderrBytes',
  'stdoutOffset',
  'stderrOffset',
  'stdoutNext',
  'stderrNext',
  'stdoutTruncated',
  'stderrTruncated',
  'acpSessionId',
  'stopReason',
  'acpError',
  'pendingPermissions',
] as const;

/**
 * A job as a tool result: its state, then each stream's text. Without offsets each stream is its tail
 * (the start cut off is marked, as `GET /jobs/{id}` does); with them, the text from there, its end cut
 * off marked with the offset to read on from.
 */
export function jobResult(job: Job, query: OutputQuery, maxTextBytes: number, note?: string): CallToolResult {
  const view = jobView(job, query, maxTextBytes, { markCut: false });
  const structured: Record<string, unknown> = {};
  for (const f of JOB_FIELDS) if (view[f] !== undefined) structured[f] = view[f];
  const lines = [headline(view)];
  if (note) lines.push(note);
  for (const name of ['stdout', 'stderr'] as const) {
    const text = String(view[name] ?? '');
    const next = Number(view[`${name}Next`]);
    const total = Number(view[`${name}Bytes`]);
    if (text === '' && total === 0) continue;
    const offset = Number(view[`${name}Offset`]);
    lines.push(`--- ${name} (bytes ${offset}-${next} of ${total}) ---`);
    if (query[`${name}From`] === undefined && offset > 0)
      lines.push(`[… ${offset} earlier bytes of ${name} not shown: read_job with ${name}From=0 reads them]`);
    lines.push(text.replace(/\n$/, ''));
    if (query[`${name}From`] !== undefined && next < total) {
      lines.push(`[… ${total - next} more bytes of ${name}: read_job with ${name}From=${next}]`);
    }
  }
  if (!job.isFinal()) {
    lines.push(
      `The job is still running. read_job with jobId="${job.id}", stdoutFrom=${String(view.stdoutNext)}, stderrFrom=${String(view.stderrNext)} and wait_seconds reads what comes next; cancel_job ends it.`,
    );
  }
  return result(lines.join('\n'), structured);
}

function headline(view: Record<string, unknown>): string {
  const parts = [`job ${String(view.jobId)}: ${String(view.status)}`];
  if (view.exitCode !== undefined && view.exitCode !== null) parts.push(`exit code ${String(view.exitCode)}`);
  if (view.endReason && view.endReason !== 'exit') parts.push(`ended by ${String(view.endReason)}`);
  if (view.stopReason) parts.push(`stop reason ${String(view.stopReason)}`);
  if (view.durationMs !== undefined) parts.push(`${String(view.durationMs)} ms`);
  let line = parts.join(', ');
  if (view.error) line += `\nerror: ${String(view.error)}`;
  if (view.acpError && view.acpError !== view.error) line += `\nagent error: ${String(view.acpError)}`;
  return line;
}
