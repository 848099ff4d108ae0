// The command server's express app: JSON in and out, the API key on everything but `/health`,
// and every failure a JSON error with a 4xx status (5xx only for our own bugs).
// Order matters: the `Host` is checked first, then the key, and only then is a body read, so a request
// without the key costs no parsing whatever it sends (docs/API.md).
import type { IncomingMessage } from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { AUTH_ERROR, requestHasKey, type KeyStore } from '../auth';
import type { Logger } from '../log';
import type { HostPolicy } from './hosts';
import { errorSender, refuseBeforeBody, sendJson } from './respond';
import { mountRoutes, type RouteSpec } from './route-spec';
import { bool, int, json, num, obj, str } from './schema';

export interface AppParts {
  keys: KeyStore;
  hosts: HostPolicy;
  maxBodyBytes: number;
  logger: Logger;
  /**
   * Routes served before the app-wide key check, in order (`/health`, the terminal page and its tickets);
   * they get no parsed body, and those of them with `auth: 'key'` are checked one by one.
   */
  publicRoutes: RouteSpec[];
  /** Routes behind the API key (all `auth: 'key'`). */
  routes: RouteSpec[];
  /** Requests whose body their route reads as a stream (uploads): the JSON parser leaves them alone. */
  streamsBody?: (req: IncomingMessage) => boolean;
}

export function createApp(parts: AppParts): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(hostGuard(parts.hosts));

  const keyCheck = requireKey(parts.keys);
  mountRoutes(app, parts.publicRoutes, keyCheck);
  app.use(keyCheck);
  // Any content type is read as JSON: the seed's clients do not all set one.
  const streamsBody = parts.streamsBody ?? (() => false);
  app.use(express.json({ limit: parts.maxBodyBytes, strict: false, type: (req) => !streamsBody(req) }));
  const unchecked = parts.routes.find((s) => s.auth !== 'key');
  if (unchecked) throw new Error(`${unchecked.method.toUpperCase()} ${unchecked.path} is not behind the key: list it with the public routes`);
  mountRoutes(app, parts.routes);

  app.use(notFound());
  app.use(jsonErrors(parts));
  return app;
}

/** `GET /health`, given whether the caller sent a valid key: the one route that answers either way. */
export function healthRoute(keys: KeyStore, health: (authenticated: boolean) => Record<string, unknown>): RouteSpec {
  return {
    method: 'get',
    path: '/health',
    auth: 'public',
    doc: {
      summary: 'Liveness; the full payload with a valid key',
      responses: { '200': json(HEALTH, 'status and authenticated always; the rest only with a valid key') },
    },
    handler: (req, res) => sendJson(res, 200, health(requestHasKey(keys, req.headers))),
  };
}

const nullableStr = { type: ['string', 'null'] };
/** `/health` as the seed's clients and ours read it; the modes add fields of their own (additionalProperties). */
const HEALTH = {
  ...obj(
    {
      status: str,
      authenticated: bool,
      version: str,
      hostname: str,
      jobs: int,
      active_jobs: int,
      cwd: str,
      terminal_supported: bool,
      terminal_sessions: int,
      acp_supported: bool,
      execution_modes: { type: 'array', items: str },
      persistent_shell_supported: bool,
      persistent_shell_shells: { type: 'object' },
      persistent_shell_default_shell: nullableStr,
      persistent_shell_sessions: int,
      persistent_shell_max_sessions: int,
      persistent_shell_idle_timeout_seconds: num,
      tunnel_url: nullableStr,
      terminal_url: nullableStr,
      registration: { type: ['object', 'null'] },
      capabilities: { type: 'array', items: str },
      files_roots: { type: 'array', items: str },
      files_search: { type: 'string', enum: ['ripgrep', 'node'] },
      files_watch_supported: bool,
      pid: int,
      uptime_s: int,
    },
    ['status', 'authenticated'],
  ),
  additionalProperties: true,
};

/** Refuses a request whose `Host` is not one of this server's names (hosts.ts), before anything else. */
export function hostGuard(hosts: HostPolicy): RequestHandler {
  return (req, res, next) => {
    const refusal = hosts.refusal(req);
    if (refusal === undefined) return next();
    refuseBeforeBody(req, res, 403, { error: refusal });
  };
}

/**
 * Refuses a request without the key, from its headers alone: `X-API-Key`, or `Authorization: Bearer KEY`
 * (what MCP hosts and other stock HTTP clients send).
 */
export function requireKey(keys: { check(key: string | undefined): boolean }): RequestHandler {
  return (req, res, next) => {
    if (requestHasKey(keys, req.headers)) return next();
    refuseBeforeBody(req, res, 401, { error: AUTH_ERROR });
  };
}

/** The last route: whatever path nobody served, however odd (`/__proto__`, `/terminal/assets/constructor`). */
export function notFound(error = 'not found'): RequestHandler {
  return (_req, res) => sendJson(res, 404, { error });
}

/** Every error a JSON answer: without this, express's default handler would send an HTML page with the stack. */
export function jsonErrors(options: { maxBodyBytes: number; logger: Logger }): ErrorRequestHandler {
  const sendError = errorSender(options);
  return (err, _req, res, _next) => sendError(res, err);
}

/** Every route the app serves, as `METHOD /path/{param}` (the OpenAPI test compares them with the document). */
export function listRoutes(app: express.Express): string[] {
  const out: string[] = [];
  const walk = (stack: RouteLayer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = String(layer.route.path).replace(/:(\w+)/g, '{$1}');
        for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouteLayer[] } }).router.stack);
  return [...new Set(out)].sort();
}

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
}
