// The terminal port (command port + 1, the predecessor's layout): every WebSocket upgrade on it is a terminal,
// whatever its path, and plain HTTP gets the web page (so a tunnel URL of this port opens a terminal).
// It checks `Host` as the command port does, and answers every error in JSON, as the command port does.
import { createServer } from 'node:http';
import express from 'express';
import { hostGuard, jsonErrors, notFound, requireKey } from '../http/app';
import { mountRoutes } from '../http/route-spec';
import type { HostPolicy } from '../http/hosts';
import { listen } from '../http/listen';
import { CONNECT_REFUSAL, refuseOnSocket } from '../http/respond';
import type { Logger } from '../log';
import type { TerminalService } from './service';

export interface TerminalListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface TerminalPortOptions {
  port: number;
  host: string;
  hosts: HostPolicy;
  logger: Logger;
  /** Only for what an error says; the terminal port reads no bodies. */
  maxBodyBytes: number;
}

export async function listenTerminalPort(service: TerminalService, options: TerminalPortOptions): Promise<TerminalListener> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(hostGuard(options.hosts));
  app.get('/', (_req, res) => res.redirect(302, 'terminal'));
  mountRoutes(app, service.routes(), requireKey({ check: (key) => service.checkKey(key) }));
  app.use(notFound('not found (this is the terminal port: the API is on the command port)'));
  app.use(jsonErrors(options));
  const server = createServer(app);
  server.on('upgrade', (req, socket, head) => service.handleUpgrade(req, socket, head));
  server.on('connect', (_req, socket) => refuseOnSocket(socket, 405, CONNECT_REFUSAL));
  const actual = await listen(server, options.port, options.host);
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
