// The API described for machines (OpenAPI 3.1). A test walks the app's routes and this document both
// ways, so neither can grow without the other.
import { AUTH_ERROR } from '../auth';
import { VERSION } from '../version';

type Schema = Record<string, unknown>;

const str = { type: 'string' };
const int = { type: 'integer' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: 'object', properties, required });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ref('Error'), description);
const idParam = { name: 'id', in: 'path', required: true, schema: str };
const queryInt = (name: string, description: string) => ({ name, in: 'query', schema: { type: 'integer', minimum: 0 }, description });
const secured = { security: [{ apiKey: [] }] };
const common = { '401': error(AUTH_ERROR) };

const ExecRequest = obj({
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
});

const Job = {
  type: 'object',
  required: ['jobId', 'status', 'command', 'submittedAt', 'processAlive', 'stdoutBytes', 'stderrBytes'],
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
  },
  additionalProperties: true,
};

export const openapi = {
  openapi: '3.1.0',
  info: { title: 'agent-runtime', version: VERSION, description: 'Async commands, terminals and ACP agents on this machine.' },
  components: {
    securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' }, bearer: { type: 'http', scheme: 'bearer' } },
    schemas: { Error: obj({ error: str }, ['error']), ExecRequest, Job },
  },
  paths: {
    '/health': {
      get: {
        summary: 'Liveness; the full payload with a valid key',
        responses: { '200': json(obj({ status: str, authenticated: bool }, ['status', 'authenticated'])) },
      },
    },
    '/exec': {
      post: {
        ...secured,
        summary: 'Submit a job',
        parameters: [{ name: 'Idempotency-Key', in: 'header', schema: str, description: 'a repeat returns the job started with this key' }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('ExecRequest') } } },
        responses: {
          '202': json(obj({ jobId: str, status: str }, ['jobId', 'status']), 'Accepted'),
          '400': error('bad input'),
          '409': error('the persistent shell session is busy with another shell, or the session limit is reached'),
          '413': error('body too large'),
          '422': error('Idempotency-Key reused with another request'),
          '503': error('draining for an update'),
          ...common,
        },
      },
    },
    '/jobs': {
      get: { ...secured, summary: 'The 20 most recent jobs, newest first', responses: { '200': json({ type: 'array', items: ref('Job') }), ...common } },
    },
    '/jobs/{id}': {
      get: {
        ...secured,
        summary: 'A job, its output so far, optionally from byte offsets, optionally waiting for news',
        parameters: [
          idParam,
          queryInt('tailLines', 'only the last N lines of each stream'),
          queryInt('stdoutFrom', 'stdout from this byte offset'),
          queryInt('stderrFrom', 'stderr from this byte offset'),
          { name: 'wait', in: 'query', schema: { type: 'number', minimum: 0 }, description: 'seconds to wait for new output or a state change' },
        ],
        responses: { '200': json(ref('Job')), '400': error('bad query'), '404': error('job not found'), ...common },
      },
    },
    '/jobs/{id}/stream': {
      get: {
        ...secured,
        summary: 'The job as Server-Sent Events: stdout, stderr, acp, status, end',
        parameters: [idParam, { name: 'Last-Event-ID', in: 'header', schema: str, description: 'resume cursor "stdoutOffset.stderrOffset.eventSeq"' }],
        responses: { '200': { description: 'event stream', content: { 'text/event-stream': { schema: str } } }, '404': error('job not found'), ...common },
      },
    },
    '/jobs/{id}/nudge': {
      post: {
        ...secured,
        summary: "Write a newline to the job's stdin",
        parameters: [idParam],
        responses: {
          '200': json(obj({ nudged: bool, processAlive: bool, reason: str }, ['nudged', 'processAlive'])),
          '404': error('job not found'),
          ...common,
        },
      },
    },
    '/jobs/{id}/input': {
      post: {
        ...secured,
        summary: "Write to the job's stdin",
        parameters: [idParam],
        requestBody: { content: { 'application/json': { schema: obj({ data: str, eof: bool }) } } },
        responses: {
          '200': json(obj({ written: int, eof: bool })),
          '400': error('bad input'),
          '404': error('job not found'),
          '409': error('not running, or its stdin is closed'),
          ...common,
        },
      },
    },
    '/jobs/{id}/cancel': {
      post: {
        ...secured,
        summary: 'Cancel the job (kills its process tree, or cancels the ACP turn)',
        parameters: [idParam],
        responses: {
          '200': json(ref('Job'), 'ended'),
          '202': json(ref('Job'), 'still ending'),
          '404': error('job not found'),
          '409': error('already finished'),
          ...common,
        },
      },
    },
    '/update': {
      post: {
        ...secured,
        summary: 'Restart for an update once idle; with drain, refuse new work and restart when the running work ends',
        requestBody: { content: { 'application/json': { schema: obj({ drain: bool }) } } },
        responses: {
          '200': json(obj({ status: str, version: str, message: str })),
          '202': json(obj({ status: str, version: str, message: str, waiting_for: { type: 'object' } }), 'draining'),
          '400': error('bad input'),
          '409': error('work is active'),
          ...common,
        },
      },
    },
    '/openapi.json': {
      get: { ...secured, summary: 'This document', responses: { '200': json({ type: 'object' }), ...common } },
    },
  } as Record<string, Record<string, unknown>>,
};

/** Lets a mode or service add the paths it serves. */
export function addPaths(paths: Record<string, Record<string, unknown>>): void {
  Object.assign(openapi.paths, paths);
}
