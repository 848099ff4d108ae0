// Self-update end to end, with nothing faked: a real npm registry on loopback (verdaccio, see
// fixtures/registry.mjs), this package built and published to it as versions A and B, A installed
// globally into a temp prefix, its `agent-server --wrapper` started, `POST /update` (drained behind a
// running job), and /health then reports B. Everything started here is stopped by its pid.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { alive, FIXTURES, removeDir, tempDir, waitFor } from './helpers';

const ROOT = resolve(__dirname, '../..');
const KEY = 'self-update-test-key-0123456789abcdef';
const VERSION_A = '100.0.0';
const VERSION_B = '100.0.1';

const started: ChildProcess[] = [];
const pids: number[] = [];
let work = '';
after(async () => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const p of started) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await Promise.race([once(p, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
  }
  if (work) removeDir(work);
});

/** The environment without whatever npm settings the test runner inherited, plus ours. */
function npmEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startRegistry(dir: string): Promise<string> {
  const upstream = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout.trim() || 'https://registry.npmjs.org/';
  const p = spawn(process.execPath, [join(FIXTURES, 'registry.mjs'), dir, upstream], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(p);
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const port = await waitFor('the registry to listen', () => /listening (\d+)/.exec(out)?.[1], 60_000).catch((e) =>
    assert.fail(`${e.message}; it said:\n${out}`),
  );
  return `http://127.0.0.1:${port}/`;
}

/** Creates a registry user (what `npm adduser` does) and returns its token. */
async function registryToken(registry: string): Promise<string> {
  const res = await fetch(`${registry}-/user/org.couchdb.user:tester`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tester', password: 'tester-password', type: 'user', roles: [], date: new Date().toISOString() }),
  });
  const body = (await res.json()) as { token?: string };
  assert.ok(body.token, `no token from the registry: ${JSON.stringify(body)}`);
  return body.token!;
}

/** Builds this checkout as `version` (the version is bundled into the CLI) and packs it. */
async function buildAndPack(version: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = join(work, `build-${version}`);
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(ROOT, 'esbuild.mjs'), join(dir, 'esbuild.mjs'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }, null, 2));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await run(process.execPath, ['esbuild.mjs'], dir, env);
  const name = (await run('npm', ['pack', '--pack-destination', work, '--silent'], dir, env)).trim().split('\n').pop()!;
  return join(work, name);
}

async function health(port: number): Promise<{ version: string; pid: number } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { 'x-api-key': KEY } });
    return res.ok ? ((await res.json()) as { version: string; pid: number }) : undefined;
  } catch {
    return undefined;
  }
}

async function api(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('agent-server --wrapper updates itself from an npm registry on POST /update', { timeout: 600_000, skip: process.platform === 'win32' }, async () => {
  work = tempDir('self-update');
  // The registry starts while both versions build and pack (packing needs no registry): B is published
  // once A runs, as a new release would be.
  const [registry, tarballA, tarballB] = await Promise.all([
    startRegistry(join(work, 'registry')),
    buildAndPack(VERSION_A, npmEnv({})),
    buildAndPack(VERSION_B, npmEnv({})),
  ]);
  const token = await registryToken(registry);
  const userconfig = join(work, 'npmrc');
  writeFileSync(userconfig, `registry=${registry}\n//${new URL(registry).host}/:_authToken=${token}\n`);
  const env = npmEnv({ npm_config_userconfig: userconfig, npm_config_registry: registry });

  await run('npm', ['publish', tarballA], work, env);
  const prefix = join(work, 'prefix');
  await run('npm', ['install', '-g', `agent-runtime@${VERSION_A}`, '--prefix', prefix], work, env);

  const port = await freePort();
  let log = '';
  const wrapper = spawn(join(prefix, 'bin', 'agent-server'), ['--wrapper', '--port', String(port), '--state-dir', join(work, 'state')], {
    env: { ...env, AGENT_RUNTIME_API_KEY: KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(wrapper);
  wrapper.stdout!.on('data', (d) => (log += d));
  wrapper.stderr!.on('data', (d) => (log += d));
  const diag = () => `\n--- wrapper output ---\n${log}`;

  const first = await waitFor('version A to serve', () => health(port), 60_000).catch((e) => assert.fail(`${e.message}${diag()}`));
  assert.equal(first.version, VERSION_A);
  pids.push(first.pid);
  assert.match(log, /auto-update with `npm install -g agent-runtime@latest --prefix/);

  await run('npm', ['publish', tarballB], work, env);

  const job = await api(port, 'POST', '/exec', { command: 'sleep 2; echo done' });
  assert.equal(job.status, 202);
  assert.equal((await api(port, 'POST', '/update', {})).status, 409, 'busy: refused as the seed does');
  const drain = await api(port, 'POST', '/update', { drain: true });
  assert.equal(drain.status, 202, JSON.stringify(drain.body));
  assert.equal(drain.body.version, VERSION_A);
  assert.equal((await api(port, 'POST', '/exec', { command: 'echo late' })).status, 503);

  const second = await waitFor(
    'version B to serve',
    async () => {
      const h = await health(port);
      return h?.version === VERSION_B ? h : undefined;
    },
    300_000,
    250,
  ).catch((e) => assert.fail(`${e.message}${diag()}`));
  pids.push(second.pid);
  assert.notEqual(second.pid, first.pid);
  assert.equal(alive(first.pid), false, 'the old server is gone');
  const installed = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'agent-runtime', 'package.json'), 'utf8'));
  assert.equal(installed.version, VERSION_B);
  const finished = await api(port, 'GET', `/jobs/${job.body.jobId}`);
  assert.equal(finished.body.status, 'completed', 'the drained job finished before the restart');
  assert.match(log, /update finished; starting the new version/);

  wrapper.kill('SIGTERM');
  const [code] = await once(wrapper, 'exit');
  assert.equal(code, 0, diag());
  await waitFor('the server to stop with the wrapper', () => !alive(second.pid), 20_000);
});
