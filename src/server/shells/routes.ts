// `GET /sessions`, `GET /sessions/{key}`, `DELETE /sessions/{key}`: the named persistent shells.
import { Router } from 'express';
import { HttpError } from '../errors';
import type { SessionManager } from './manager';

const NOT_FOUND = 'session not found';

export function sessionRoutes(sessions: SessionManager): Router {
  const r = Router();
  r.get('/sessions', (_req, res) => {
    res.json(sessions.list());
  });
  r.get('/sessions/:key', (req, res) => {
    const session = sessions.get(String(req.params.key));
    if (!session) throw new HttpError(404, NOT_FOUND);
    res.json(session.info());
  });
  r.delete('/sessions/:key', async (req, res) => {
    const key = String(req.params.key);
    if (!(await sessions.delete(key))) throw new HttpError(404, NOT_FOUND);
    res.json({ deleted: true, sessionKey: key });
  });
  return r;
}
