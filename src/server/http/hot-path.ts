// The hot path: the two requests every job makes, `POST /exec` and the long-poll `GET /jobs/{id}`, served
// on node's http directly. Express costs about 0.1 ms a request in a busy process here, several times
// that in one just woken (its request and response objects, its router, its body parser), and a short
// job's round trip is two requests: without it, the round trip is 0.6–1.1 ms shorter (docs/PERFORMANCE.md). Only the plain case is taken here: a valid key, the route's exact path, and a
// body of declared length within the limit, neither compressed nor in another charset than UTF-8, and a
// `Host` of ours. Anything else (a chunked or compressed body, an encoded or trailing-slash path, a wrong
// key or host) goes to the express app, which serves the same routes with the same handlers, and refuses
// a wrong key or host before it reads the body.
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { parse as parseContentType } from 'content-type';
import { requestHasKey, type KeyStore } from '../auth';
import type { Logger } from '../log';
import type { HostPolicy } from './hosts';
import { errorSender, malformedJson } from './respond';

/** What a handler reads of a request: express's Request has all of it, so one handler serves both paths. */
export interface ApiRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: IncomingHttpHeaders;
}

export type ApiHandler = (req: ApiRequest, res: ServerResponse) => void | Promise<void>;

export interface HotRoute {
  method: 'GET' | 'POST';
  /** An express path: literal segments and `:name` parameters. */
  path: string;
  handle: ApiHandler;
}

export interface HotPathOptions {
  keys: KeyStore;
  /** The names the server answers to; without it, the app behind must not check them either. */
  hosts?: HostPolicy;
  maxBodyBytes: number;
  logger: Logger;
}

/** `app`, with `routes` served first when a request is plain (see above). */
export function withHotPath(app: RequestListener, routes: HotRoute[], options: HotPathOptions): RequestListener {
  const table = routes.map((r) => ({ ...r, segments: r.path.split('/') }));
  const sendError = errorSender(options);
  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    for (const route of table) {
      if (route.method !== req.method) continue;
      const params = matchPath(route.segments, path);
      if (!params || url.includes('#') || !isPlain(req, options)) continue;
      const query = q === -1 ? {} : parseQuery(url.slice(q + 1));
      const fail = (err: unknown) => sendError(res, err);
      readJson(req, (err, body) => {
        if (err) return fail(err);
        try {
          const handled = route.handle({ params, query, body, headers: req.headers }, res);
          if (handled) handled.catch(fail);
        } catch (e) {
          fail(e);
        }
      });
      return;
    }
    app(req, res);
  };
}

/** The parameters, when `path` is the route's exact path; an encoded segment is left to express to decode. */
function matchPath(segments: string[], path: string): Record<string, string> | undefined {
  const parts = path.split('/');
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const want = segments[i];
    if (want.startsWith(':')) {
      if (parts[i] === '' || parts[i].includes('%')) return undefined;
      params[want.slice(1)] = parts[i];
    } else if (parts[i] !== want) {
      return undefined;
    }
  }
  return params;
}

function isPlain(req: IncomingMessage, options: HotPathOptions): boolean {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return false;
  if (h['content-encoding'] !== undefined && h['content-encoding'] !== 'identity') return false;
  if (h['content-length'] !== undefined && !(Number(h['content-length']) <= options.maxBodyBytes)) return false;
  // Read as the express app's body parser reads it, which refuses any charset but the UTF ones.
  const type = h['content-type'];
  const charset = type?.includes(';') ? parseContentType(type).parameters.charset?.toLowerCase() : undefined;
  if (charset !== undefined && charset !== 'utf-8') return false;
  return requestHasKey(options.keys, h) && options.hosts?.refusal(req) === undefined;
}

/** The body as JSON, as the express app's parser reads it: any value, `{}` for an empty body, none without one. */
function readJson(req: IncomingMessage, done: (err: unknown, body?: unknown) => void): void {
  const length = req.headers['content-length'];
  if (length === undefined || length === '0') return done(undefined, length === undefined ? undefined : {});
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let text = Buffer.concat(chunks).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text === '') return done(undefined, {});
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      return done(malformedJson((e as Error).message));
    }
    done(undefined, body);
  });
}
