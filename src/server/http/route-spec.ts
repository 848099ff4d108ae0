// A route, declared once: its method, path, access and OpenAPI description beside its handler. Each
// resource exports its specs; the server mounts them on express and builds its OpenAPI document from the
// same list, so the document describes exactly what that server serves.
import type { RequestHandler } from 'express';
import { VERSION } from '../version';
import { obj, str, unauthorized, type Schema } from './schema';

export type Method = 'get' | 'post' | 'put' | 'delete';

/** Who may call a route: `key` needs the API key (as `X-API-Key` or a bearer token); `public` anyone (the page holds no secret). */
export type RouteAuth = 'key' | 'public';

export interface RouteSpec {
  method: Method;
  /** Express form: `/jobs/:id`. */
  path: string;
  auth: RouteAuth;
  /** The OpenAPI operation; `security` and the 401 of `auth: 'key'` are added from `auth`. */
  doc: Operation;
  handler: RequestHandler;
}

export interface Operation {
  summary: string;
  responses: Record<string, unknown>;
  [field: string]: unknown;
}

/** Where specs are mounted: an express app (or router). */
export type RouteTarget = { [M in Method]: (path: string, ...handlers: RequestHandler[]) => unknown };

/**
 * Mounts the specs on the app, in order. `keyGuard` is for routes that no app-wide key check precedes
 * (those served before it, the terminal port): each `key` route gets it first.
 * On the app itself, not on a nested router: a nested router answers `OPTIONS` for its paths on its own
 * (200, text), before the key check and the JSON 404 that every other unknown request gets.
 */
export function mountRoutes<T extends RouteTarget>(router: T, specs: readonly RouteSpec[], keyGuard?: RequestHandler): T {
  for (const s of specs) {
    if (s.auth === 'key' && keyGuard) router[s.method](s.path, keyGuard, s.handler);
    else router[s.method](s.path, s.handler);
  }
  return router;
}

/** `/jobs/:id` as OpenAPI writes it: `/jobs/{id}`. */
export function openapiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: Record<string, string>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, Schema> };
  paths: Record<string, Record<string, unknown>>;
}

/** One server's document (OpenAPI 3.1): every route it serves, and the schemas they name. */
export function openapiDocument(specs: readonly RouteSpec[], schemas: Record<string, Schema> = {}): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const s of specs) {
    const op = s.auth === 'key' ? { security: [{ apiKey: [] }, { bearer: [] }], ...s.doc, responses: { ...s.doc.responses, ...unauthorized } } : s.doc;
    (paths[openapiPath(s.path)] ??= {})[s.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'agent-runtime', version: VERSION, description: 'Async commands, terminals and ACP agents on this machine.' },
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' }, bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: obj({ error: str }, ['error']), ...schemas },
    },
    paths,
  };
}
