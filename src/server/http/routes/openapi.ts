import { Router } from 'express';
import { openapi } from '../openapi';

export function openapiRoutes(): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  return r;
}
