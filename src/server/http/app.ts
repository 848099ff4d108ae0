// The command server's express app: JSON in and out, the API key on everything but `/health`,
// and every failure a JSON error with a 4xx status (5xx only for our own bugs). The hot path
// (hot-path.ts) serves the two requests every job makes ahead of it.
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import type { KeyStore } from '../auth';
import type { Logger } from '../log';
import { errorSender, sendJson } from './respond';

export interface AppParts {
  keys: KeyStore;
  maxBodyBytes: number;
  logger: Logger;
  /** `GET /health`, given whether the caller sent a valid key. */
  health(authenticated: boolean): Record<string, unknown>;
  /** Routers that check their own access (e.g. the terminal page and its tickets). */
  publicRouters: Router[];
  /** Routers behind the API key. */
  routers: Router[];
}

export const AUTH_ERROR = 'invalid or missing API key';

export function createApp(parts: AppParts): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Any content type is read as JSON: the seed's clients do not all set one.
  app.use(express.json({ limit: parts.maxBodyBytes, strict: false, type: () => true }));

  app.get('/health', (req, res) => {
    sendJson(res, 200, parts.health(parts.keys.check(req.get('x-api-key'))));
  });
  for (const r of parts.publicRouters) app.use(r);
  app.use(requireKey(parts.keys));
  for (const r of parts.routers) app.use(r);

  app.use((_req, res) => {
    sendJson(res, 404, { error: 'not found' });
  });
  app.use(errorHandler(parts));
  return app;
}

export function requireKey(keys: KeyStore): RequestHandler {
  return (req, res, next) => {
    if (keys.check(req.get('x-api-key'))) return next();
    sendJson(res, 401, { error: AUTH_ERROR });
  };
}

function errorHandler(parts: AppParts): ErrorRequestHandler {
  const sendError = errorSender(parts);
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
