// `GET /sessions`, `GET /sessions/{key}`, `DELETE /sessions/{key}`: the named persistent shells.
import { AUTH_ERROR } from '../auth';
import { Router } from 'express';
import { HttpError } from '../errors';
import { addPaths } from '../http/openapi';
import { sendJson } from '../http/respond';
import type { SessionManager } from './manager';
import { SHELL_KINDS } from './catalog';

const NOT_FOUND = 'session not found';

export function sessionRoutes(sessions: SessionManager): Router {
  const r = Router();
  r.get('/sessions', (_req, res) => {
    sendJson(res, 200, sessions.list());
  });
  r.get('/sessions/:key', (req, res) => {
    const session = sessions.get(String(req.params.key));
    if (!session) throw new HttpError(404, NOT_FOUND);
    sendJson(res, 200, session.info());
  });
  r.delete('/sessions/:key', async (req, res) => {
    const key = String(req.params.key);
    if (!(await sessions.delete(key))) throw new HttpError(404, NOT_FOUND);
    sendJson(res, 200, { deleted: true, sessionKey: key });
  });
  return r;
}

const str = { type: 'string' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const Session = {
  type: 'object',
  required: ['sessionKey', 'shell', 'status', 'createdAt', 'lastUsedAt', 'lastOutputAt', 'processAlive', 'activeCommand'],
  properties: {
    sessionKey: str,
    shell: { type: 'string', enum: [...SHELL_KINDS] },
    status: { type: 'string', enum: ['running', 'idle', 'stopped'] },
    createdAt: num,
    lastUsedAt: num,
    lastOutputAt: { type: ['number', 'null'] },
    processAlive: bool,
    activeCommand: bool,
    pid: { type: ['integer', 'null'] },
    processStartedAt: { type: ['number', 'null'] },
    queuedCommands: { type: 'integer' },
    commandsRun: { type: 'integer' },
    workdir: str,
  },
};
const jsonOf = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const errorOf = (description: string) => jsonOf({ $ref: '#/components/schemas/Error' }, description);
const keyParam = { name: 'key', in: 'path', required: true, schema: str };
const secured = { security: [{ apiKey: [] }] };
const unauthorized = { '401': errorOf(AUTH_ERROR) };

addPaths({
  '/sessions': {
    get: { ...secured, summary: 'Named persistent shell sessions, by key', responses: { '200': jsonOf({ type: 'array', items: Session }), ...unauthorized } },
  },
  '/sessions/{key}': {
    get: {
      ...secured,
      summary: 'One persistent shell session',
      parameters: [keyParam],
      responses: { '200': jsonOf(Session), '404': errorOf('session not found'), ...unauthorized },
    },
    delete: {
      ...secured,
      summary: 'End a persistent shell session (kills its shell and what runs in it) and forget it',
      parameters: [keyParam],
      responses: {
        '200': jsonOf({ type: 'object', properties: { deleted: bool, sessionKey: str }, required: ['deleted', 'sessionKey'] }),
        '404': errorOf('session not found'),
        ...unauthorized,
      },
    },
  },
});
