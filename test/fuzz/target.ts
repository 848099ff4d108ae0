// The server the fuzzers attack: the real CLI as a child process on loopback, in a folder of its own (so
// nothing a fuzzed request names lands in the project), terminals running `cat` (typed input is echoed,
// never run), and a job stored before the attack whose record must come out of it intact.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { CLI, tempDir, TEST_KEY } from '../helpers/server';

export interface FuzzTarget {
  url: string;
  host: string;
  port: number;
  terminalPort: number;
  key: string;
  child: ChildProcess;
  /** A job that ran before the fuzzing started, and what it answered then. */
  stored: { id: string; record: Record<string, unknown> };
  /** What the server wrote on stderr (its log), the last 4,000 characters. */
  log(): string;
  /** Throws unless `/health` answers with the key, the stored job is unchanged, and a new job runs. */
  checkIntact(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFuzzTarget(maxBodyBytes: number): Promise<FuzzTarget> {
  const root = tempDir('ar-fuzz-');
  const cwd = join(root, 'cwd');
  mkdirSync(cwd);
  const args = [
    '--port',
    '0',
    '--terminal-port',
    '0',
    '--state-dir',
    join(root, 'state'),
    '--max-body-bytes',
    String(maxBodyBytes),
    '--terminal-shell',
    '/bin/cat',
    '--terminal-max-sessions',
    '100',
    '--max-wait-seconds',
    '2',
  ];
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, AGENT_RUNTIME_API_KEY: TEST_KEY },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // A fuzzing process that ends early (a failed assertion, Ctrl+C) takes its server with it.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  void exited.then(() => process.off('exit', orphan));
  const { url, terminalPort } = await new Promise<{ url: string; terminalPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${err}`)), 20_000);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      const t = /terminal WebSocket also on port (\d+)/.exec(err);
      if (m && t) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve({ url: m[1], terminalPort: Number(t[1]) });
      }
    };
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`the server exited: ${err}`)));
  });
  const { hostname: host, port } = new URL(url);
  const call = (method: string, path: string, body?: unknown) => jsonCall(url, method, path, body);

  const submitted = await call('POST', '/exec', { command: 'echo stored before the fuzzing' });
  const id = String(submitted.body.jobId);
  let record: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) {
    record = (await call('GET', `/jobs/${id}?wait=1`)).body;
    if (record.status === 'completed') break;
  }
  if (record.status !== 'completed') throw new Error(`the stored job did not complete: ${JSON.stringify(record)}`);

  return {
    url,
    host,
    port: Number(port),
    terminalPort,
    key: TEST_KEY,
    child,
    stored: { id, record },
    log: () => err.slice(-4000),
    async checkIntact() {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the server exited (${child.exitCode ?? child.signalCode}): ${err.slice(-2000)}`);
      const health = await call('GET', '/health');
      if (health.status !== 200 || health.body.authenticated !== true) throw new Error(`/health: ${health.status} ${JSON.stringify(health.body)}`);
      const now = (await call('GET', `/jobs/${id}`)).body;
      for (const field of ['status', 'stdout', 'stderr', 'exitCode', 'command', 'submittedAt', 'endReason']) {
        if (JSON.stringify(now[field]) !== JSON.stringify(record[field])) {
          throw new Error(`the stored job changed: ${field} was ${JSON.stringify(record[field])}, is ${JSON.stringify(now[field])}`);
        }
      }
      const fresh = await call('POST', '/exec', { command: 'echo still working' });
      if (fresh.status !== 202) throw new Error(`a new job was refused: ${fresh.status} ${JSON.stringify(fresh.body)}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A JSON request with the key, over a fresh connection. */
export function jsonCall(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { 'x-api-key': TEST_KEY, connection: 'close' };
    if (data !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    const req = request(url + path, { method, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(data);
  });
}
