// The terminal port (command port + 1, the seed's layout): every WebSocket upgrade on it is a terminal,
// whatever its path, and plain HTTP gets the web page (so a tunnel URL of this port opens a terminal).
import { createServer } from 'node:http';
import { listen } from '../http/listen';
import { sendJson } from '../http/respond';
import express from 'express';
import type { TerminalService } from './service';

export interface TerminalListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function listenTerminalPort(service: TerminalService, port: number, host: string): Promise<TerminalListener> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/', (_req, res) => res.redirect(302, 'terminal'));
  app.use(service.router());
  app.use((_req, res) => {
    sendJson(res, 404, { error: 'not found (this is the terminal port: the API is on the command port)' });
  });
  const server = createServer(app);
  server.on('upgrade', (req, socket, head) => service.handleUpgrade(req, socket, head));
  const actual = await listen(server, port, host);
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
