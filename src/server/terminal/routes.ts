// HTTP side of the terminal: the web page (public: it holds no secret), tickets, and the session list.
// The WebSocket itself (`GET /terminal/ws` with `Upgrade: websocket`) is described in docs/terminal.md:
// OpenAPI has no words for its frames.
import { PAGE_HEADERS, findPageAssets } from './page';
import { sendJson } from '../http/respond';
import type { RouteSpec } from '../http/route-spec';
import { bool, error, int, json, num, obj, pathParam, str } from '../http/schema';
import type { TerminalSessionInfo } from './session';

/** What the routes need from the service. */
export interface TerminalRoutesHost {
  supported(): boolean;
  unsupportedReason(): string | undefined;
  issueTicket(): { ticket: string; expiresAt: number } | undefined;
  ticketTtlMs(): number;
  list(): TerminalSessionInfo[];
  maxSessions(): number;
  endSession(id: string): Promise<boolean>;
}

/**
 * The files sent are a fixed list found at startup, so a dot anywhere in their absolute path is fine: the
 * extension lives under `~/.vscode/extensions/`, a global npm install often under a hidden folder, and
 * send's default would answer 404 for every file there.
 */
const SEND_OPTIONS = { dotfiles: 'allow' } as const;

/** The page and its assets are public; the rest needs the key (checked where the routes are mounted). */
export function terminalRoutes(host: TerminalRoutesHost, assets = findPageAssets()): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/terminal',
      auth: 'public',
      doc: {
        summary: 'The web terminal page (no key needed: it asks for one and keeps it in the tab)',
        responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
      },
      handler: (req, res) => {
        // Relative asset URLs resolve against the page's path; `/terminal/` would resolve them one level down.
        if (req.originalUrl.split('?')[0].endsWith('/')) return res.redirect(301, '../terminal');
        if (!assets) return sendJson(res, 404, { error: 'the web terminal page is not installed (media/terminal.html missing)' });
        res.set(PAGE_HEADERS).type('html').sendFile(assets.html, SEND_OPTIONS);
      },
    },
    {
      method: 'get',
      path: '/terminal/assets/:name',
      auth: 'public',
      doc: {
        summary: 'A file of the web terminal page',
        parameters: [pathParam('name', { type: 'string', enum: ['terminal.js', 'terminal.css', 'xterm.css'] })],
        responses: { '200': { description: 'the file' }, '404': error('no such asset') },
      },
      handler: (req, res) => {
        const name = String(req.params.name);
        const file = assets?.files.get(name);
        if (!file) return sendJson(res, 404, { error: `no asset ${name}` });
        res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' }).sendFile(file, SEND_OPTIONS, (err) => {
          if (err && !res.headersSent) sendJson(res, 404, { error: `asset ${name} is not built; run npm run build` });
        });
      },
    },
    {
      method: 'post',
      path: '/terminal/tickets',
      auth: 'key',
      doc: {
        summary: 'A one-time, short-lived ticket that opens one terminal WebSocket as ?ticket=',
        responses: {
          '201': json(obj({ ticket: str, expiresInSeconds: int, expiresAt: num }, ['ticket', 'expiresInSeconds', 'expiresAt']), 'Created'),
          '429': error('too many unused tickets'),
          '503': error('terminals are not supported on this host'),
        },
      },
      handler: (_req, res) => {
        if (!host.supported()) return sendJson(res, 503, { error: `terminals are not supported here: ${host.unsupportedReason()}` });
        const issued = host.issueTicket();
        if (!issued) return sendJson(res, 429, { error: 'too many unused tickets; use or let some expire first' });
        sendJson(res, 201, { ticket: issued.ticket, expiresInSeconds: Math.round(host.ticketTtlMs() / 1000), expiresAt: issued.expiresAt / 1000 });
      },
    },
    {
      method: 'get',
      path: '/terminals',
      auth: 'key',
      doc: {
        summary: 'Terminal sessions, attached or waiting for a reconnect',
        responses: {
          '200': json(obj({ terminals: { type: 'array', items: Terminal }, maxSessions: int, supported: bool }, ['terminals', 'maxSessions', 'supported'])),
        },
      },
      handler: (_req, res) => {
        sendJson(res, 200, { terminals: host.list(), maxSessions: host.maxSessions(), supported: host.supported() });
      },
    },
    {
      method: 'delete',
      path: '/terminals/:id',
      auth: 'key',
      doc: {
        summary: 'End a terminal session (its shell gets SIGHUP, then SIGKILL)',
        parameters: [pathParam('id')],
        responses: { '200': json(obj({ id: str, ended: bool }, ['id', 'ended'])), '404': error('no such session') },
      },
      handler: async (req, res) => {
        const id = String(req.params.id);
        if (!(await host.endSession(id))) return sendJson(res, 404, { error: `no terminal session ${id}` });
        sendJson(res, 200, { id, ended: true });
      },
    },
  ];
}

const Terminal = obj(
  {
    id: str,
    pid: int,
    shell: str,
    workdir: str,
    command: { type: ['string', 'null'] },
    cols: int,
    rows: int,
    createdAt: { type: 'number', description: 'unix seconds' },
    lastActivityAt: { type: 'number', description: 'unix seconds' },
    clients: int,
    paused: { type: 'boolean', description: 'a slow reader holds the PTY paused' },
    unreadBytes: int,
    detachedUntil: { type: ['number', 'null'], description: 'unix seconds; set while no client is attached' },
  },
  ['id', 'pid', 'shell', 'workdir', 'command', 'cols', 'rows', 'createdAt', 'lastActivityAt', 'clients', 'paused', 'unreadBytes', 'detachedUntil'],
);
