// The terminal's HTTP routes in the OpenAPI document. The WebSocket itself (`GET /terminal/ws` with
// `Upgrade: websocket`) is described in docs/terminal.md: OpenAPI has no words for its frames.
import { AUTH_ERROR } from '../auth';
const str = { type: 'string' };
const json = (schema: Record<string, unknown>, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json({ $ref: '#/components/schemas/Error' }, description);
const secured = { security: [{ apiKey: [] }] };
const unauthorized = { '401': error(AUTH_ERROR) };

const Terminal = {
  type: 'object',
  properties: {
    id: str,
    pid: { type: 'integer' },
    shell: str,
    workdir: str,
    command: { type: ['string', 'null'] },
    cols: { type: 'integer' },
    rows: { type: 'integer' },
    createdAt: { type: 'number', description: 'unix seconds' },
    lastActivityAt: { type: 'number', description: 'unix seconds' },
    clients: { type: 'integer' },
    paused: { type: 'boolean', description: 'a slow reader holds the PTY paused' },
    unreadBytes: { type: 'integer' },
    detachedUntil: { type: ['number', 'null'], description: 'unix seconds; set while no client is attached' },
  },
};

export const terminalPaths: Record<string, Record<string, unknown>> = {
  '/terminal': {
    get: {
      summary: 'The web terminal page (no key needed: it asks for one and keeps it in the tab)',
      responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
    },
  },
  '/terminal/assets/{name}': {
    get: {
      summary: 'A file of the web terminal page',
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', enum: ['terminal.js', 'terminal.css', 'xterm.css'] } }],
      responses: { '200': { description: 'the file' }, '404': error('no such asset') },
    },
  },
  '/terminal/tickets': {
    post: {
      ...secured,
      summary: 'A one-time, short-lived ticket that opens one terminal WebSocket as ?ticket=',
      responses: {
        '201': json({ type: 'object', properties: { ticket: str, expiresInSeconds: { type: 'integer' }, expiresAt: { type: 'number' } } }, 'Created'),
        '429': error('too many unused tickets'),
        '503': error('terminals are not supported on this host'),
        ...unauthorized,
      },
    },
  },
  '/terminals': {
    get: {
      ...secured,
      summary: 'Terminal sessions, attached or waiting for a reconnect',
      responses: {
        '200': json({
          type: 'object',
          properties: { terminals: { type: 'array', items: Terminal }, maxSessions: { type: 'integer' }, supported: { type: 'boolean' } },
        }),
        ...unauthorized,
      },
    },
  },
  '/terminals/{id}': {
    delete: {
      ...secured,
      summary: 'End a terminal session (its shell gets SIGHUP, then SIGKILL)',
      parameters: [{ name: 'id', in: 'path', required: true, schema: str }],
      responses: { '200': json({ type: 'object', properties: { id: str, ended: { type: 'boolean' } } }), '404': error('no such session'), ...unauthorized },
    },
  },
};
