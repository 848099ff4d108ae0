// `GET /sessions`, `GET /sessions/{key}`, `DELETE /sessions/{key}`: the named persistent shells.
import { HttpError } from '../../errors';
import { sendJson } from '../../http/respond';
import type { RouteSpec } from '../../http/route-spec';
import { bool, error, json, num, obj, pathParam, str } from '../../http/schema';
import type { SessionManager } from './manager';
import { SHELL_KINDS } from './catalog';

const NOT_FOUND = 'session not found';

export function sessionRoutes(sessions: SessionManager): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/sessions',
      auth: 'key',
      doc: { summary: 'Named persistent shell sessions, by key', responses: { '200': json({ type: 'array', items: Session }) } },
      handler: (_req, res) => sendJson(res, 200, sessions.list()),
    },
    {
      method: 'get',
      path: '/sessions/:key',
      auth: 'key',
      doc: { summary: 'One persistent shell session', parameters: [keyParam], responses: { '200': json(Session), '404': error(NOT_FOUND) } },
      handler: (req, res) => {
        const session = sessions.get(String(req.params.key));
        if (!session) throw new HttpError(404, NOT_FOUND);
        sendJson(res, 200, session.info());
      },
    },
    {
      method: 'delete',
      path: '/sessions/:key',
      auth: 'key',
      doc: {
        summary: 'End a persistent shell session (kills its shell and what runs in it) and forget it',
        parameters: [keyParam],
        responses: { '200': json(obj({ deleted: bool, sessionKey: str }, ['deleted', 'sessionKey'])), '404': error(NOT_FOUND) },
      },
      handler: async (req, res) => {
        const key = String(req.params.key);
        if (!(await sessions.delete(key))) throw new HttpError(404, NOT_FOUND);
        sendJson(res, 200, { deleted: true, sessionKey: key });
      },
    },
  ];
}

const keyParam = pathParam('key');
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
