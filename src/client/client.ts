// AgentRuntimeClient: every route of the server as a typed method (docs/client.md). Runs wherever fetch
// does (Node ≥ 20, browsers); terminals need a WebSocket constructor: the platform's, or `ws` in Node 20.
import { AgentRuntimeError, call, callJson, type Transport } from './http.js';
import { FilesApi, type Signal } from './files.js';
import { readSse, type ReconnectOptions } from './sse.js';
import { TerminalConnection, type TerminalOptions, type WebSocketConstructor } from './terminal.js';
import type {
  ExecAccepted,
  ExecRequest,
  Health,
  InputResult,
  Job,
  JsonRequest,
  JobStatus,
  JobStreamEvent,
  NudgeResult,
  OpenApiDocument,
  PendingPermission,
  PermissionAnswered,
  PersistentShellDeleted,
  PersistentShellSession,
  PortExposed,
  PortList,
  PortUnexposed,
  ReadJobQuery,
  SystemInfo,
  TerminalEnded,
  TerminalList,
  TerminalTicket,
  UpdateResult,
} from './types.js';

export interface ClientOptions {
  /** The server, e.g. `http://127.0.0.1:8585` or a tunnel's `https://…devtunnels.ms`. */
  url: string;
  /** The API key, sent as `X-API-Key`. */
  key: string;
  /** Another fetch (a proxy agent, a test double); default: the global one. */
  fetch?: typeof fetch;
  /**
   * The WebSocket class for `terminal()`; default: the global one (browsers, Node ≥ 22). Node 20 has none:
   * pass `WebSocket` from the `ws` package.
   */
  WebSocket?: WebSocketConstructor;
}

/** The statuses a job ends in (the seed's three: a cancelled or interrupted job ends `failed`). */
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'timeout'];
export const isFinal = (job: { status: JobStatus }): boolean => FINAL_STATUSES.includes(job.status);

export interface ExecOptions extends Signal {
  /** A repeat with the same key returns the job already started with it (within the server's TTL). */
  idempotencyKey?: string;
}

export interface WaitOptions extends Signal {
  /** Seconds each long-poll waits for news (the server bounds it by `maxWaitSeconds`). Default 30. */
  pollSeconds?: number;
  /** The final read: only the last N lines of each stream. */
  tailLines?: number;
}

export interface StreamOptions extends Signal {
  /** Resume after this event (the `id` of the last event a previous stream gave). */
  lastEventId?: string;
  /** Reconnect after a drop; `false`: a drop ends the stream with an error. */
  reconnect?: ReconnectOptions | false;
}

/** An ACP job's request: `mode` is implied. */
export type AgentRequest = Omit<ExecRequest, 'mode'> & { prompt: string };

export interface RunAgentOptions extends ExecOptions {
  /**
   * Answers each permission request of the agent with one of its `options`' `optionId`. Given, the job runs
   * with `policy: "ask"` (unless the request names another policy).
   */
  onPermission?: (request: PendingPermission) => string | Promise<string>;
  /** Every event of the job's stream, as it comes. */
  onEvent?: (event: JobStreamEvent) => void;
}

export class AgentRuntimeClient {
  readonly url: string;
  readonly files: FilesApi;
  private readonly t: Transport;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    const f = options.fetch ?? globalThis.fetch;
    // Bound: a browser's fetch called as a method of another object throws "Illegal invocation".
    this.t = { url: this.url, key: options.key, fetch: (input, init) => f(input, init) };
    this.WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.files = new FilesApi(this.t);
  }

  /** `GET /health`: the full payload (the key is sent). */
  health(options: Signal = {}): Promise<Health> {
    return callJson(this.t, 'GET', '/health', options);
  }

  /** Starts a job: `202 {jobId, status}`. */
  exec(request: ExecRequest, options: ExecOptions = {}): Promise<ExecAccepted> {
    const headers: Record<string, string> = options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {};
    return callJson(this.t, 'POST', '/exec', { json: request, headers, signal: options.signal });
  }

  /** Starts a job and waits for its end. */
  async run(request: ExecRequest, options: ExecOptions & WaitOptions = {}): Promise<Job> {
    const { jobId } = await this.exec(request, options);
    return this.wait(jobId, options);
  }

  /** A job: whole, from byte offsets (`stdoutFrom`, `stderrFrom`), its last lines, or after waiting for news (`wait`). */
  job(id: string, query: ReadJobQuery & Signal = {}): Promise<Job> {
    const { signal, ...q } = query;
    return callJson(this.t, 'GET', `/jobs/${encodeURIComponent(id)}`, { query: q, signal });
  }

  /** The 20 most recent jobs, newest first. */
  jobs(options: Signal = {}): Promise<Job[]> {
    return callJson(this.t, 'GET', '/jobs', options);
  }

  /**
   * Long-polls the job until it ends and answers it whole. Each poll asks only for output past what the
   * previous one saw, so a chatty job is not sent again and again.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Job> {
    const { signal } = options;
    let from: { stdoutFrom?: number; stderrFrom?: number } = {};
    for (;;) {
      const job = await this.job(id, { wait: options.pollSeconds ?? 30, ...from, signal });
      if (isFinal(job)) return this.job(id, { tailLines: options.tailLines, signal });
      from = { stdoutFrom: job.stdoutNext, stderrFrom: job.stderrNext };
    }
  }

  /**
   * The job's events as they happen, from its start (or after `lastEventId`): `status`, `stdout`, `stderr`,
   * `acp`, and last `end` with the job. A dropped connection is resumed with `Last-Event-ID`: no event is
   * lost or repeated (a `status` the server sends again on a reconnect, unchanged, is left out).
   */
  async *stream(id: string, options: StreamOptions = {}): AsyncGenerator<JobStreamEvent> {
    let lastStatus: string | undefined;
    const messages = readSse(this.t, `/jobs/${encodeURIComponent(id)}/stream`, {
      signal: options.signal,
      lastEventId: options.lastEventId,
      reconnect: options.reconnect,
      isLast: (m) => m.event === 'end',
    });
    for await (const m of messages) {
      const data = JSON.parse(m.data) as { status?: string };
      if (m.event === 'status') {
        if (data.status === lastStatus) continue;
        lastStatus = data.status;
      }
      yield { event: m.event, id: m.id, data } as JobStreamEvent;
    }
  }

  /** Writes to the job's stdin (`eof`: then closes it). */
  input(id: string, data: string, options: Signal & { eof?: boolean } = {}): Promise<InputResult> {
    return callJson(this.t, 'POST', `/jobs/${encodeURIComponent(id)}/input`, { json: { data, eof: options.eof ?? false }, signal: options.signal });
  }

  /** Writes a newline to the job's stdin (the seed's nudge). */
  nudge(id: string, options: Signal = {}): Promise<NudgeResult> {
    return callJson(this.t, 'POST', `/jobs/${encodeURIComponent(id)}/nudge`, options);
  }

  /** Cancels the job (its whole process tree, or the ACP turn) and answers it once ended (or still ending). */
  cancel(id: string, options: Signal = {}): Promise<Job> {
    return callJson(this.t, 'POST', `/jobs/${encodeURIComponent(id)}/cancel`, options);
  }

  /** Answers a pending permission request of an ACP job run with `policy: "ask"`. */
  answerPermission(jobId: string, requestId: string, optionId: string, options: Signal = {}): Promise<PermissionAnswered> {
    const path = `/jobs/${encodeURIComponent(jobId)}/permissions/${encodeURIComponent(requestId)}`;
    return callJson(this.t, 'POST', path, { json: { optionId }, signal: options.signal });
  }

  /**
   * Runs an ACP agent's turn and answers with the ended job. With `onPermission`, each permission request
   * the agent makes is put to it as it comes (from the job's stream) and its choice sent back.
   */
  async runAgent(request: AgentRequest, options: RunAgentOptions = {}): Promise<Job> {
    const { onPermission, onEvent, signal } = options;
    const body: ExecRequest = { ...request, mode: 'acp', ...(onPermission && !request.policy ? { policy: 'ask' } : {}) };
    const { jobId } = await this.exec(body, options);
    for await (const event of this.stream(jobId, { signal })) {
      onEvent?.(event);
      if (onPermission && event.event === 'acp' && event.data.type === 'permission_request') {
        const pending = event.data.data as unknown as PendingPermission;
        const optionId = await onPermission(pending);
        try {
          await this.answerPermission(jobId, pending.requestId, optionId, { signal });
        } catch (err) {
          // 404: no longer pending (its deadline passed, or the turn ended): the stream tells the rest.
          if (!(err instanceof AgentRuntimeError && err.status === 404)) throw err;
        }
      }
    }
    return this.job(jobId, { signal });
  }

  /** Named persistent shells (`mode: "persistent_shell"`). */
  sessions(options: Signal = {}): Promise<PersistentShellSession[]> {
    return callJson(this.t, 'GET', '/sessions', options);
  }

  session(key: string, options: Signal = {}): Promise<PersistentShellSession> {
    return callJson(this.t, 'GET', `/sessions/${encodeURIComponent(key)}`, options);
  }

  deleteSession(key: string, options: Signal = {}): Promise<PersistentShellDeleted> {
    return callJson(this.t, 'DELETE', `/sessions/${encodeURIComponent(key)}`, options);
  }

  /** Opens a terminal (or attaches to `options.session`), reconnecting after drops. */
  terminal(options: TerminalOptions = {}): TerminalConnection {
    if (!this.WebSocketImpl) throw new Error('no WebSocket here (Node 20): pass `WebSocket` from the ws package in the client options');
    return new TerminalConnection(this.t, this.WebSocketImpl, options);
  }

  /** Terminal sessions, attached or waiting for a reconnect. */
  terminals(options: Signal = {}): Promise<TerminalList> {
    return callJson(this.t, 'GET', '/terminals', options);
  }

  endTerminal(id: string, options: Signal = {}): Promise<TerminalEnded> {
    return callJson(this.t, 'DELETE', `/terminals/${encodeURIComponent(id)}`, options);
  }

  /** A one-time ticket that opens one terminal WebSocket as `?ticket=` (what `terminal()` does itself). */
  terminalTicket(options: Signal = {}): Promise<TerminalTicket> {
    return callJson(this.t, 'POST', '/terminal/tickets', options);
  }

  /** TCP ports listening on the machine. */
  ports(options: Signal = {}): Promise<PortList> {
    return callJson(this.t, 'GET', '/ports', options);
  }

  /** Forwards a port through the running devtunnel (409 without one). */
  exposePort(port: number, options: Signal = {}): Promise<PortExposed> {
    return callJson(this.t, 'POST', `/ports/${port}/expose`, options);
  }

  unexposePort(port: number, options: Signal = {}): Promise<PortUnexposed> {
    return callJson(this.t, 'DELETE', `/ports/${port}/expose`, options);
  }

  system(options: Signal = {}): Promise<SystemInfo> {
    return callJson(this.t, 'GET', '/system', options);
  }

  /** Prometheus text. */
  async metrics(options: Signal = {}): Promise<string> {
    return (await call(this.t, 'GET', '/metrics', options)).text();
  }

  /** The server's OpenAPI 3.1 document. */
  openapi(options: Signal = {}): Promise<OpenApiDocument> {
    return callJson(this.t, 'GET', '/openapi.json', options);
  }

  /**
   * Asks the server to restart for an update once idle (409 while jobs, terminals or shells are active);
   * `drain`: refuse new work now and restart when the running work ends (202).
   */
  update(options: Signal & JsonRequest<'/update', 'post'> = {}): Promise<UpdateResult> {
    const { signal, ...body } = options;
    return callJson(this.t, 'POST', '/update', { json: body, signal });
  }
}
