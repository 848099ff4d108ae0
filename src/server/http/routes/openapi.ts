import { Router } from 'express';
import { openapi } from '../openapi';
import { sendJson } from '../respond';

export function openapiRoutes(): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    sendJson(res, 200, openapi);
  });
  return r;
}
