// `GET /openapi.json`: the document built for this server from its own routes (route-spec.ts).
import type { OpenApiDocument, RouteSpec } from '../route-spec';
import { sendJson } from '../respond';
import { json } from '../schema';

/** `document` is read per request: the server builds it from every spec, this one included. */
export function openapiRoutes(document: () => OpenApiDocument): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/openapi.json',
      auth: 'key',
      doc: { summary: 'This document', responses: { '200': json({ type: 'object' }) } },
      handler: (_req, res) => sendJson(res, 200, document()),
    },
  ];
}
