// HTTP side of the terminal: the web page (public: it holds no secret), tickets, and the session list.
import express from 'express';
import { PAGE_HEADERS, findPageAssets } from './page';
import { sendJson } from '../http/respond';
import { requireKey as keyGuard } from '../http/app';
import type { TerminalSessionInfo } from './session';

/** What the routes need from the service. */
export interface TerminalRoutesHost {
  checkKey(key: string | undefined): boolean;
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

export function terminalRouter(host: TerminalRoutesHost, assets = findPageAssets()): express.Router {
  const router = express.Router();
  const requireKey = keyGuard({ check: (key) => host.checkKey(key) });

  router.get('/terminal', (req, res) => {
    // Relative asset URLs resolve against the page's path; `/terminal/` would resolve them one level down.
    if (req.originalUrl.split('?')[0].endsWith('/')) return res.redirect(301, '../terminal');
    if (!assets) return sendJson(res, 404, { error: 'the web terminal page is not installed (media/terminal.html missing)' });
    res.set(PAGE_HEADERS).type('html').sendFile(assets.html, SEND_OPTIONS);
  });

  router.get('/terminal/assets/:name', (req, res) => {
    const file = assets?.files.get(req.params.name);
    if (!file) return sendJson(res, 404, { error: `no asset ${req.params.name}` });
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' }).sendFile(file, SEND_OPTIONS, (err) => {
      if (err && !res.headersSent) sendJson(res, 404, { error: `asset ${req.params.name} is not built; run npm run build` });
    });
  });

  router.post('/terminal/tickets', requireKey, (_req, res) => {
    if (!host.supported()) return sendJson(res, 503, { error: `terminals are not supported here: ${host.unsupportedReason()}` });
    const issued = host.issueTicket();
    if (!issued) return sendJson(res, 429, { error: 'too many unused tickets; use or let some expire first' });
    sendJson(res, 201, { ticket: issued.ticket, expiresInSeconds: Math.round(host.ticketTtlMs() / 1000), expiresAt: issued.expiresAt / 1000 });
  });

  router.get('/terminals', requireKey, (_req, res) => {
    sendJson(res, 200, { terminals: host.list(), maxSessions: host.maxSessions(), supported: host.supported() });
  });

  router.delete('/terminals/:id', requireKey, async (req, res) => {
    const id = String(req.params.id);
    if (!(await host.endSession(id))) return sendJson(res, 404, { error: `no terminal session ${id}` });
    sendJson(res, 200, { id, ended: true });
  });

  return router;
}
