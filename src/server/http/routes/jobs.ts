// `POST /exec` and `/jobs/*`: submit, read (whole, by offset, long-poll), stream, nudge, input, cancel.
import type { Request } from 'express';
import { BadRequest } from '../../errors';
import type { Job } from '../../jobs/job';
import type { JobManager } from '../../jobs/manager';
import { cancelAndWait, findJob, waitForNews, writeInput } from '../job-actions';
import { jobView, LIST_OUTPUT_BYTES, parseOutputQuery } from '../job-view';
import { sendJson } from '../respond';
import { streamJob } from '../sse';
import { whenCurrent } from '../wait';
import type { RouteSpec } from '../route-spec';
import { bool, error, headerParam, int, json, jsonBody, num, obj, pathParam, ref, str, type Schema } from '../schema';

export interface JobRouteLimits {
  maxResponseOutputBytes: number;
  maxWaitSeconds: number;
  killGraceMs: number;
}

/** How many jobs `GET /jobs` lists, as the seed. */
export const JOBS_LISTED = 20;

export function jobRoutes(manager: JobManager, limits: JobRouteLimits): RouteSpec[] {
  const store = manager.store;
  const find = (req: Request): Job => findJob(store, String(req.params.id));

  return [
    {
      method: 'post',
      path: '/exec',
      auth: 'key',
      doc: {
        summary: 'Submit a job',
        parameters: [headerParam('Idempotency-Key', 'a repeat returns the job started with this key')],
        requestBody: jsonBody(ref('ExecRequest'), true),
        responses: {
          '202': json(obj({ jobId: str, status: str }, ['jobId', 'status']), 'Accepted'),
          '400': error('bad input'),
          '409': error('the persistent shell session is busy with another shell, or the session limit is reached'),
          '413': error('body too large'),
          '422': error('Idempotency-Key reused with another request'),
          '503': error('draining for an update'),
        },
      },
      handler: (req, res) => {
        const body = req.body ?? {};
        if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('request body must be a JSON object');
        const key = req.headers['idempotency-key'] as string | undefined; // node joins a repeated header into one
        if (key !== undefined && (key.length === 0 || key.length > 256)) throw new BadRequest('Idempotency-Key must be 1 to 256 characters');
        const { job, replayed } = manager.submit(body as Record<string, unknown>, key);
        // The seed answers `pending` for a new job whatever has happened since; a replay tells the truth.
        sendJson(res, 202, { jobId: job.id, status: replayed ? job.record.status : 'pending' }, replayed ? { 'Idempotent-Replayed': 'true' } : {});
      },
    },

    {
      method: 'get',
      path: '/jobs/:id',
      auth: 'key',
      doc: {
        summary: 'A job, its output so far, optionally from byte offsets, optionally waiting for news',
        parameters: [
          idParam,
          queryInt('tailLines', 'only the last N lines of each stream'),
          queryInt('stdoutFrom', 'stdout from this byte offset'),
          queryInt('stderrFrom', 'stderr from this byte offset'),
          { name: 'wait', in: 'query', schema: { type: 'number', minimum: 0 }, description: 'seconds to wait for new output or a state change' },
        ],
        responses: { '200': json(ref('Job')), '400': error('bad query'), '404': error('job not found') },
      },
      handler: async (req, res) => {
        // Tested first so the usual request (not pipelined behind another) goes on in the same tick.
        if (!res.socket && !(await whenCurrent(res))) return;
        const job = find(req);
        const query = parseOutputQuery(req.query);
        await waitForNews(job, query, parseWait(req.query.wait, limits.maxWaitSeconds), res);
        sendJson(res, 200, jobView(job, query, limits.maxResponseOutputBytes));
      },
    },

    {
      method: 'get',
      path: '/jobs',
      auth: 'key',
      doc: { summary: 'The 20 most recent jobs, newest first', responses: { '200': json({ type: 'array', items: ref('Job') }) } },
      handler: async (_req, res) => {
        if (!(await whenCurrent(res))) return;
        sendJson(
          res,
          200,
          store.recent(JOBS_LISTED).map((j) => jobView(j, {}, LIST_OUTPUT_BYTES)),
        );
      },
    },

    {
      method: 'get',
      path: '/jobs/:id/stream',
      auth: 'key',
      doc: {
        summary: 'The job as Server-Sent Events: stdout, stderr, acp, status, end',
        parameters: [idParam, headerParam('Last-Event-ID', 'resume cursor "stdoutOffset.stderrOffset.eventSeq"')],
        responses: { '200': { description: 'event stream', content: { 'text/event-stream': { schema: str } } }, '404': error('job not found') },
      },
      handler: (req, res) => {
        const job = find(req);
        streamJob(job, req, res, () => jobView(job, { stdoutFrom: job.stdout.size(), stderrFrom: job.stderr.size() }, 0));
      },
    },

    {
      method: 'post',
      path: '/jobs/:id/nudge',
      auth: 'key',
      doc: {
        summary: "Write a newline to the job's stdin",
        parameters: [idParam],
        responses: { '200': json(obj({ nudged: bool, processAlive: bool, reason: str }, ['nudged', 'processAlive'])), '404': error('job not found') },
      },
      handler: (req, res) => {
        const job = find(req);
        const result = job.running?.write('\n', false) ?? { ok: false as const, reason: 'process not running' };
        const processAlive = job.running?.alive() ?? false;
        sendJson(res, 200, result.ok ? { nudged: true, processAlive } : { nudged: false, reason: result.reason, processAlive });
      },
    },

    {
      method: 'post',
      path: '/jobs/:id/input',
      auth: 'key',
      doc: {
        summary: "Write to the job's stdin",
        parameters: [idParam],
        requestBody: jsonBody(obj({ data: str, eof: bool })),
        responses: {
          '200': json(obj({ written: int, eof: bool }, ['written', 'eof'])),
          '400': error('bad input'),
          '404': error('job not found'),
          '409': error('not running, or its stdin is closed'),
        },
      },
      handler: (req, res) => {
        const job = find(req);
        const body = req.body ?? {};
        if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('request body must be a JSON object');
        const { data = '', eof = false } = body as { data?: unknown; eof?: unknown };
        if (typeof data !== 'string') throw new BadRequest('data must be a string');
        if (typeof eof !== 'boolean') throw new BadRequest('eof must be a boolean');
        sendJson(res, 200, writeInput(job, data, eof));
      },
    },

    {
      method: 'post',
      path: '/jobs/:id/cancel',
      auth: 'key',
      doc: {
        summary: 'Cancel the job (kills its process tree, or cancels the ACP turn)',
        parameters: [idParam],
        responses: {
          '200': json(ref('Job'), 'ended'),
          '202': json(ref('Job'), 'still ending'),
          '404': error('job not found'),
          '409': error('already finished'),
        },
      },
      handler: async (req, res) => {
        const job = find(req);
        await cancelAndWait(manager, job, limits.killGraceMs, res);
        sendJson(res, job.isFinal() ? 200 : 202, jobView(job, {}, limits.maxResponseOutputBytes));
      },
    },
  ];
}

export function parseWait(v: unknown, max: number): number {
  if (v === undefined) return 0;
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new BadRequest('wait must be a number of seconds');
  return Math.min(n, max);
}

const idParam = pathParam('id');
const queryInt = (name: string, description: string) => ({ name, in: 'query', schema: { type: 'integer', minimum: 0 }, description });

const NameValue = obj({ name: str, value: str }, ['name', 'value']);

/** The schemas the job routes name (`$ref`), for the server's document. */
export const JOB_SCHEMAS: Record<string, Schema> = {
  PendingPermission: obj(
    {
      requestId: str,
      toolCallId: str,
      title: str,
      kind: str,
      paths: { type: 'array', items: str },
      options: { type: 'array', items: obj({ optionId: str, name: str, kind: str }, ['optionId', 'name', 'kind']) },
      requestedAt: num,
      deadlineAt: num,
    },
    ['requestId', 'toolCallId', 'paths', 'options', 'requestedAt', 'deadlineAt'],
  ),
  ExecRequest: obj({
    mode: { type: 'string', enum: ['shell', 'persistent_shell', 'acp'], default: 'shell' },
    command: str,
    workdir: str,
    timeout: { type: 'number', exclusiveMinimum: 0, default: 300, description: 'seconds' },
    env: { type: 'object', additionalProperties: str },
    agent: str,
    prompt: str,
    acp_session_id: str,
    model: str,
    effort: str,
    acp_mode: str,
    policy: { type: 'string', enum: ['workdir', 'deny', 'ask'] },
    persistent_session_key: str,
    persistent_shell: str,
    sessionKey: str,
    shell: str,
    bootstrapCommand: str,
    bootstrapCurrentCommand: bool,
    mcpServers: {
      type: 'array',
      description: 'ACP jobs: MCP servers lent to the agent for its session, in ACP’s McpServer shapes (docs/acp.md)',
      items: {
        oneOf: [
          obj({ name: str, command: str, args: { type: 'array', items: str }, env: { type: 'array', items: NameValue } }, ['name', 'command']),
          obj({ type: { type: 'string', enum: ['http', 'sse'] }, name: str, url: str, headers: { type: 'array', items: NameValue } }, ['type', 'name', 'url']),
        ],
      },
    },
  }),
  Job: {
    type: 'object',
    // What every job view holds (job-view.ts); the rest comes with the job's end, its mode or its events.
    required: [
      'jobId',
      'status',
      'mode',
      'command',
      'workdir',
      'timeout',
      'submittedAt',
      'startedAt',
      'finishedAt',
      'lastOutputAt',
      'processAlive',
      'stdout',
      'stderr',
      'stdoutBytes',
      'stderrBytes',
      'stdoutOffset',
      'stderrOffset',
      'stdoutNext',
      'stderrNext',
    ],
    properties: {
      jobId: str,
      status: { type: 'string', enum: ['pending', 'running', 'completed', 'failed', 'timeout'] },
      mode: str,
      command: str,
      workdir: str,
      timeout: num,
      submittedAt: num,
      startedAt: { type: ['number', 'null'] },
      finishedAt: { type: ['number', 'null'] },
      lastOutputAt: { type: ['number', 'null'] },
      processAlive: bool,
      stdout: str,
      stderr: str,
      stdoutBytes: int,
      stderrBytes: int,
      stdoutOffset: int,
      stderrOffset: int,
      stdoutNext: int,
      stderrNext: int,
      stdoutTruncated: bool,
      stderrTruncated: bool,
      exitCode: { type: ['integer', 'null'] },
      durationMs: int,
      timedOut: bool,
      endReason: { type: 'string', enum: ['exit', 'timeout', 'cancelled', 'interrupted', 'error'] },
      cancelled: bool,
      interrupted: bool,
      error: str,
      events: { type: 'array', items: obj({ seq: int, type: str, timestamp: num, data: {} }) },
      eventCount: int,
      acpSessionId: str,
      stopReason: str,
      acpError: str,
      policy: { type: 'string', enum: ['workdir', 'deny', 'ask'] },
      pendingPermissions: { type: 'array', items: ref('PendingPermission'), description: 'ACP jobs with policy "ask": requests waiting for an answer' },
    },
    additionalProperties: true,
  },
};
