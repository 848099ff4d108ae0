// The real server on 127.0.0.1 (command port and terminal port), and a WebSocket client that collects
// what the terminal sends, for the terminal tests and the benchmark.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { KeyStore } from '../../src/server/auth';
import { silentLogger, type Logger } from '../../src/server/log';
import { startServer as startAgentServer, type AgentServer } from '../../src/server/server';
import type { TerminalService } from '../../src/server/terminal/service';
import type { TerminalOptions } from '../../src/server/terminal/options';
import type { PtyModuleSource } from '../../src/server/terminal/pty';

export const KEY = 'test-key-0123456789abcdef0123456789';

export interface TestServer {
  server: AgentServer;
  service: TerminalService;
  /** The command port (the terminal is at /terminal/ws there) and the separate terminal port. */
  port: number;
  terminalPort: number;
  base: string;
  wsBase: string;
  close(): Promise<void>;
}

/** The real core (src/server/server.ts) on free loopback ports, with the terminal options given. */
export async function startServer(
  options: Partial<TerminalOptions> = {},
  extra: { logger?: Logger; ptyModule?: PtyModuleSource; allowedOrigins?: string[] } = {},
): Promise<TestServer> {
  const stateDir = mkdtempSync(join(tmpdir(), 'terminal-state-'));
  const server = await startAgentServer(
    { port: 0, terminalPort: 0, stateDir },
    {
      keys: new KeyStore(KEY, 'option'),
      logger: extra.logger ?? silentLogger,
      terminal: { options, ptyModule: extra.ptyModule, allowedOrigins: extra.allowedOrigins },
    },
  );
  return {
    server,
    service: server.terminal,
    port: server.port,
    terminalPort: server.terminalPort!,
    base: `http://127.0.0.1:${server.port}`,
    wsBase: `ws://127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface Control {
  type: string;
  [k: string]: unknown;
}

/** A `ws` client that keeps every output frame and control message it receives. */
export class TermClient {
  readonly ws: WebSocket;
  output = '';
  outputFrames: string[] = [];
  controls: Control[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, headers: Record<string, string> = { 'x-api-key': KEY }) {
    this.ws = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (text.startsWith('\u0000')) this.controls.push(JSON.parse(text.slice(1)) as Control);
      else {
        this.outputFrames.push(text);
        this.output += text;
      }
    });
  }

  get sessionId(): string | undefined {
    return this.controls.find((c) => c.type === 'session')?.id as string | undefined;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  type(data: string): void {
    this.send({ type: 'input', data });
  }

  /** Waits until the collected output matches, with a generous deadline (the machine is shared). */
  async waitFor(pattern: RegExp | string, timeoutMs = 20_000): Promise<void> {
    await waitUntil(
      () => (typeof pattern === 'string' ? this.output.includes(pattern) : pattern.test(this.output)),
      timeoutMs,
      () => `output never matched ${pattern}; got:\n${this.output.slice(-2000)}`,
    );
  }

  async waitForControl(type: string, timeoutMs = 20_000): Promise<Control> {
    await waitUntil(
      () => this.controls.some((c) => c.type === type),
      timeoutMs,
      () => `no ${type} control message; got ${JSON.stringify(this.controls)}`,
    );
    return this.controls.find((c) => c.type === type)!;
  }

  close(code = 1000): Promise<number> {
    this.ws.close(code);
    return this.closed;
  }

  /** Drops the connection without a close handshake, as a network failure would. */
  drop(): Promise<number> {
    this.ws.terminate();
    return this.closed;
  }
}

export async function waitUntil(check: () => boolean, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function openTerminal(srv: TestServer, query = ''): Promise<TermClient> {
  const client = new TermClient(`${srv.wsBase}/terminal/ws${query ? `?${query}` : ''}`);
  await client.opened;
  await client.waitForControl('session');
  return client;
}

/**
 * A WebSocket client that completes the handshake and then never reads again, so everything the server
 * sends piles up: first in the kernel's socket buffers, then (without backpressure) in the server.
 */
export async function stalledClient(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-API-Key: ${KEY}\r\n\r\n`,
  );
  let head = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
      else resolve();
    };
    socket.on('data', onData);
  });
  socket.pause();
  return socket;
}
