// The client's one way to call the server: the key on every request, JSON in and out, a typed error for
// every answer that is not a success, and an abort signal on everything.
import type { ErrorBody } from './types.js';

/** A non-success answer from the server: its status and its JSON error (`{"error": ...}`, sometimes more). */
export class AgentRuntimeError extends Error {
  override readonly name = 'AgentRuntimeError';
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path} -> ${status}: ${body.error}`);
  }
}

export type QueryValue = string | number | boolean | undefined | null;
export type Body = string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;

export interface CallOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as it is (uploads). */
  body?: Body;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses besides 2xx that are answers, not errors (e.g. 304). */
  accept?: number[];
}

export interface Transport {
  /** The server's base URL, without a trailing slash. */
  readonly url: string;
  readonly key: string;
  readonly fetch: typeof fetch;
}

export function pathWithQuery(path: string, query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null) params.set(name, String(value));
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

/** A request; resolves with the response when its status is a success (or accepted), else throws AgentRuntimeError. */
export async function call(t: Transport, method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const target = pathWithQuery(path, options.query);
  const headers: Record<string, string> = { 'X-API-Key': t.key, ...options.headers };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers['Content-Type'] ??= 'application/octet-stream';
    body = options.body as BodyInit;
  }
  // A stream body needs `duplex: 'half'` (fetch's rule); browsers stream request bodies only over HTTP/2.
  const init = { method, headers, body, signal: options.signal, ...(isStream(body) ? { duplex: 'half' } : {}) } as RequestInit;
  const res = await t.fetch(t.url + target, init);
  if (res.ok || options.accept?.includes(res.status)) return res;
  throw new AgentRuntimeError(res.status, await errorBody(res), method, target);
}

/** A request answered with JSON. */
export async function callJson<T>(t: Transport, method: string, path: string, options: CallOptions = {}): Promise<T> {
  const res = await call(t, method, path, options);
  return (await res.json()) as T;
}

async function errorBody(res: Response): Promise<ErrorBody> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as ErrorBody).error === 'string') return parsed as ErrorBody;
  } catch {
    // not JSON: a proxy's page, say
  }
  return { error: text.trim().slice(0, 500) || res.statusText || `HTTP ${res.status}` };
}

const isStream = (body: unknown): boolean => typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;

/** Rejects with the signal's reason once it aborts (for waits that are not a fetch). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
