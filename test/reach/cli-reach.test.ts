// `agent-server --tunnel --register URL --name NAME` as a real process: the stand-in devtunnel on PATH
// (the real devtunnel service is unreachable here) and a real local dashboard. The banner shows the
// tunnel and the challenge code, /health carries them, jobs see the DEVPILOT_* variables, and SIGTERM
// ends the tunnel host with the server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { Dashboard } from './dashboard';
import { alive, fakeDevtunnel, hostPids, removeDir, tempDir, waitFor } from './helpers';

const KEY = 'cli-reach-key-0123456789abcdef0123';
const CLI = resolve(__dirname, '../../src/server/cli.ts');
const procs: ChildProcess[] = [];
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const c of cleanups) await c();
});

test('--tunnel --register: banner, /health, job environment, clean stop', async () => {
  const dt = fakeDevtunnel();
  cleanups.push(dt.cleanup);
  const dashboard = await new Dashboard().start();
  cleanups.push(() => dashboard.stop());
  const stateDir = tempDir('cli-reach');
  cleanups.push(() => removeDir(stateDir));

  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, '--port', '0', '--state-dir', stateDir, '--tunnel', '--register', dashboard.url, '--name', 'cli-box'],
    { env: { ...dt.env, AGENT_RUNTIME_API_KEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  procs.push(proc);
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));

  const code = await waitFor('the challenge banner', () => /REGISTRATION CODE:\s+([A-Z]{3}-\d{4})/.exec(err)?.[1], 60000).catch((e) =>
    assert.fail(`${e.message}\n${err}`),
  );
  const url = /command server\s+(\S+)/.exec(err)![1];
  const tunnelUrl = /tunnel\s+(https:\/\/\S+devtunnels\.ms)/.exec(err)?.[1];
  assert.ok(tunnelUrl, `the banner shows the tunnel URL:\n${err}`);
  assert.match(err, new RegExp(`dashboard\\s+${dashboard.url} \\(as cli-box\\)`));
  assert.match(err, new RegExp(`${dashboard.url}/devboxes`));

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, { method, headers: { 'x-api-key': KEY }, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await res.json()) as any;
  };
  let health = await api('GET', '/health');
  assert.equal(health.tunnel_url, tunnelUrl);
  assert.equal(health.registration.status, 'pending');
  assert.equal(health.registration.challenge_code, code);

  dashboard.confirm(code);
  await waitFor('registered', async () => (await api('GET', '/health')).registration.status === 'registered', 30000);

  const job = await api('POST', '/exec', { command: 'echo "$DEVPILOT_TUNNEL_URL|$DEVPILOT_TERMINAL_URL|${DEVPILOT_TUNNEL_TOKEN%%.*}"' });
  const done = await waitFor('the job', async () => {
    const j = await api('GET', `/jobs/${job.jobId}`);
    return j.status === 'completed' ? j : undefined;
  });
  health = await api('GET', '/health');
  assert.equal(done.stdout.trim(), `${tunnelUrl}|${health.terminal_url}|eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9`);

  const [hostPid] = hostPids(dt.state);
  assert.ok(alive(hostPid));
  proc.kill('SIGTERM');
  const [exitCode] = await once(proc, 'exit');
  assert.equal(exitCode, 0);
  assert.equal(alive(hostPid), false, 'the tunnel host stops with the server');
});

test('--tunnel without the devtunnel CLI: one clear message, the server still serves', async () => {
  const empty = tempDir('cli-nodt');
  const stateDir = tempDir('cli-reach2');
  cleanups.push(
    () => removeDir(empty),
    () => removeDir(stateDir),
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--state-dir', stateDir, '--tunnel'], {
    env: { ...process.env, PATH: `${empty}:${join(process.execPath, '..')}`, AGENT_RUNTIME_API_KEY: KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const url = await waitFor('the banner', () => /command server\s+(\S+)/.exec(err)?.[1], 60000).catch((e) => assert.fail(`${e.message}\n${err}`));
  assert.equal(err.match(/devtunnel CLI was not found on PATH/g)?.length, 1, err);
  assert.match(err, /Serving locally only/);
  const health = (await (await fetch(`${url}/health`, { headers: { 'x-api-key': KEY } })).json()) as any;
  assert.equal(health.status, 'ok');
  assert.equal(health.tunnel_url, null);
  proc.kill('SIGTERM');
  assert.deepEqual(await once(proc, 'exit'), [0, null]);
});
