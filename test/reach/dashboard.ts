// A real HTTP dashboard for the tests, implementing the seed's registration endpoints:
//   POST /api/register/refresh-token  known name -> {updated: id}; unknown -> 404
//   POST /api/register                -> {id} (a pending registration holding the challenge code)
//   GET  /api/register/{id}/status    -> {status: "pending"} | {status: "confirmed", devbox: {id, name}}
// plus what a test needs: confirm a code as a person would, break connections, force HTTP errors.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Devbox {
  id: string;
  name: string;
  tunnel_url: string;
  terminal_url: string;
  tunnel_token: string;
  api_key: string;
}

export interface Recorded {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

export class Dashboard {
  readonly devboxes = new Map<string, Devbox>();
  readonly pending = new Map<string, { code: string; payload: Record<string, unknown>; confirmed?: Devbox }>();
  readonly requests: Recorded[] = [];
  /** Requests to drop (socket destroyed without an answer), counted down. */
  dropNext = 0;
  /** Forced answers by `METHOD path-prefix`. */
  readonly forced = new Map<string, { status: number; body: unknown }>();
  private server!: Server;
  private nextId = 1;
  url = '';

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (answer) => {
          if (!answer) return req.socket.destroy();
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(answer.body));
        },
        () => req.socket.destroy(),
      );
    });
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** What a person does on the dashboard: types the code shown by the machine. */
  confirm(code: string): Devbox | undefined {
    for (const [id, p] of this.pending) {
      if (p.code !== code || p.confirmed) continue;
      const devbox: Devbox = {
        id: `devbox-${id}`,
        name: String(p.payload.name),
        tunnel_url: String(p.payload.tunnel_url ?? ''),
        terminal_url: String(p.payload.terminal_url ?? ''),
        tunnel_token: String(p.payload.tunnel_token ?? ''),
        api_key: String(p.payload.api_key ?? ''),
      };
      p.confirmed = devbox;
      this.devboxes.set(devbox.name, devbox);
      return devbox;
    }
    return undefined;
  }

  calls(method: string, prefix: string): Recorded[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown } | undefined> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = await readJson(req);
    this.requests.push({ method: req.method ?? '', path, body });
    if (this.dropNext > 0) {
      this.dropNext--;
      return undefined;
    }
    for (const [key, answer] of this.forced) {
      const [m, p] = key.split(' ');
      if (m === req.method && path.startsWith(p)) return answer;
    }
    if (req.method === 'POST' && path === '/api/register/refresh-token') {
      const d = this.devboxes.get(String(body.name));
      if (!d || d.api_key !== body.current_api_key) return { status: 404, body: { error: 'Devbox not found' } };
      Object.assign(d, {
        tunnel_url: body.tunnel_url ?? d.tunnel_url,
        terminal_url: body.terminal_url ?? d.terminal_url,
        tunnel_token: body.tunnel_token ?? d.tunnel_token,
        api_key: body.api_key ?? d.api_key,
      });
      return { status: 200, body: { updated: d.id } };
    }
    if (req.method === 'POST' && path === '/api/register') {
      if (typeof body.name !== 'string' || !/^[A-Z]{3}-\d{4}$/.test(String(body.challenge_code))) {
        return { status: 400, body: { error: 'name and challenge_code are required' } };
      }
      const id = `reg-${this.nextId++}`;
      this.pending.set(id, { code: String(body.challenge_code), payload: body });
      return { status: 201, body: { id } };
    }
    const m = /^\/api\/register\/([^/]+)\/status$/.exec(path);
    if (req.method === 'GET' && m) {
      const p = this.pending.get(decodeURIComponent(m[1]));
      if (!p) return { status: 404, body: { error: 'Registration not found' } };
      return { status: 200, body: p.confirmed ? { status: 'confirmed', devbox: { id: p.confirmed.id, name: p.confirmed.name } } : { status: 'pending' } };
    }
    return { status: 404, body: { error: 'not found' } };
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
