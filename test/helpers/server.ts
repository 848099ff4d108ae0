// Starting the real server for tests: in this process (startServer), or as the real CLI process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, type AgentServer, type ServerDeps } from '../../src/server/server';
import type { ServerOptions } from '../../src/server/config';
import { KeyStore } from '../../src/server/auth';
import { AgentRuntimeClient } from '../../src/client';

export const TEST_KEY = 'test-key-0123456789abcdefghijklmnopqrstuvwxyz';
/** The CLI under test; a benchmark may point AGENT_RUNTIME_CLI at another build to compare the two side by side. */
export const CLI = process.env.AGENT_RUNTIME_CLI ?? resolve(__dirname, '../../dist/cli.js');

const madeDirs: string[] = [];
// A test file's temporary folders go when its process does (the 1 GiB test alone leaves 1 GiB).
process.once('exit', () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the system's temp dir, removed when the test process exits. */
export function tempDir(prefix = 'ar-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** A request body sent in chunks, with no declared length (`call` sends it as it is). */
export function chunked(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
}

export interface Api {
  url: string;
  key: string;
  /**
   * A raw JSON request with the key (a string or stream body is sent as it is); returns status, parsed body and
   * headers. For tests of wire shapes, status codes and bad input, which the client would not send or would hide.
   */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /** Polls a job (long-poll) until it reaches a final status. */
  waitJob(jobId: string, timeoutMs?: number): Promise<any>;
  /** Submits and waits. */
  run(body: Record<string, unknown>): Promise<any>;
}

/** An `Api` with the typed client (src/client) on the same server: what tests use unless they check the wire itself. */
export interface ClientApi extends Api {
  client: AgentRuntimeClient;
}

export function apiFor(url: string, key: string): ClientApi {
  const call: Api['call'] = async (method, path, body, headers = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { 'X-API-Key': key, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : body instanceof ReadableStream || typeof body === 'string' ? body : JSON.stringify(body),
      duplex: 'half',
    } as RequestInit);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const client = new AgentRuntimeClient({ url, key });
  const waitJob: Api['waitJob'] = async (jobId, timeoutMs = 60_000) => {
    try {
      return await client.wait(jobId, { pollSeconds: 5, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') throw new Error(`job ${jobId} did not finish in ${timeoutMs} ms`, { cause: err });
      throw err;
    }
  };
  const run: Api['run'] = async (body) => waitJob((await client.exec(body)).jobId);
  return { url, key, client, call, waitJob, run };
}

export interface TestServer extends ClientApi {
  server: AgentServer;
  stateDir: string;
  close(): Promise<void>;
}

/** The real server in this process, on a free loopback port, with a temp state dir. */
export async function startTestServer(options: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<TestServer> {
  const stateDir = options.stateDir ?? tempDir();
  const keys = deps.keys ?? new KeyStore(TEST_KEY, 'option');
  const server = await startServer({ port: 0, terminalPort: -1, ...options, stateDir }, { ...deps, keys });
  return {
    ...apiFor(server.url, server.keys.current()),
    server,
    stateDir,
    close: async () => {
      await server.close();
      if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface CliProcess extends ClientApi {
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The real `agent-server` CLI (built bundle) as a child process; resolves once it listens. */
export async function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, key = TEST_KEY): Promise<CliProcess> {
  // As installed: through its shebang (and the Node flags there), where the OS reads shebangs.
  const [file, cliArgs] = process.platform === 'win32' ? [process.execPath, [CLI]] : [CLI, []];
  const child = spawn(file, [...cliArgs, '--port', '0', ...args], {
    env: { ...process.env, AGENT_RUNTIME_API_KEY: key, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${err}`)), 20_000);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolveUrl(m[1]);
      }
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`CLI exited ${code}: ${err}`)));
  });
  return {
    ...apiFor(url, key),
    child,
    stderr: () => err,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Resolves when `check` returns a truthy value, polling; fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** The spawn helper a server process started (Linux /proc). */
export function spawnHelperOf(serverPid: number): number {
  for (const pid of processesWith('spawn-helper')) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === serverPid) return pid;
  }
  throw new Error(`no spawn helper under process ${serverPid}`);
}

/** Pids of live processes whose command line contains `marker` (Linux /proc). */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const state = /^State:\s+(\w)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (cmd.includes(marker) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
