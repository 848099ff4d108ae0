// The pieces on a real server: `POST /update` with drain, and reach (a tunnel through the stand-in
// devtunnel CLI, the real devtunnel service being unreachable here, plus registration with a real local
// dashboard) showing in the authenticated /health and the environment, token refreshes pushed.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer, type AgentServer, type ServerDeps } from '../../src/server/server';
import { startReach, type Reach } from '../../src/server/reach';
import type { ChallengeEvent } from '../../src/server/register';
import { Dashboard } from './dashboard';
import { fakeDevtunnel, removeDir, tempDir, waitFor } from './helpers';

const KEY = 'test-key-0123456789abcdef0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function server(update?: ServerDeps['update']): Promise<AgentServer> {
  const stateDir = tempDir('reach-state');
  const { KeyStore } = await import('../../src/server/auth');
  const s = await startServer({ port: 0, stateDir }, { keys: new KeyStore(KEY, 'option'), update });
  cleanups.push(() => removeDir(stateDir));
  cleanups.push(() => s.close());
  return s;
}

async function call(s: AgentServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** The HTTP answer to a WebSocket upgrade for a new terminal session on the command port. */
function terminalUpgradeStatus(s: AgentServer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${s.url}/terminal/ws`, {
      headers: {
        'x-api-key': KEY,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', () => reject(new Error('the upgrade was accepted')));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('POST /update with drain', () => {
  test('busy: 409 without drain; with drain, 503 for new work until the running job ends, then the update', async () => {
    let updatedAt = 0;
    const s = await server(() => ({
      response: { status: 'updating', version: '9.9.9', message: 'restarting for update' },
      after: () => (updatedAt = Date.now()),
    }));
    const job = await call(s, 'POST', '/exec', { command: 'sleep 1.5' });
    assert.equal(job.status, 202);

    const refused = await call(s, 'POST', '/update', {});
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error, 'cannot update while jobs are running');

    assert.equal((await call(s, 'POST', '/update', { drain: 'yes' })).status, 400);

    const draining = await call(s, 'POST', '/update', { drain: true });
    assert.equal(draining.status, 202);
    assert.equal(draining.body.status, 'draining');
    assert.equal(draining.body.version, '9.9.9');
    assert.deepEqual(draining.body.waiting_for, { running_jobs: 1 });
    assert.match(draining.body.message, /new work is refused \(503\).*restarting for update/);

    const newWork = await call(s, 'POST', '/exec', { command: 'echo hi' });
    assert.equal(newWork.status, 503);
    assert.match(newWork.body.error, /draining for an update/);
    const newShell = await call(s, 'POST', '/exec', { mode: 'persistent_shell', sessionKey: 'k', command: 'echo hi' });
    assert.equal(newShell.status, 503, 'no new persistent shell either');
    const newTerminal = await terminalUpgradeStatus(s);
    assert.equal(newTerminal.status, 503, 'no new terminal either');
    assert.match(newTerminal.body, /draining for an update/);

    const again = await call(s, 'POST', '/update', { drain: true });
    assert.equal(again.status, 202);
    assert.equal(again.body.status, 'draining');

    assert.equal(updatedAt, 0, 'no update while the job runs');
    await waitFor('the update once the job ended', () => updatedAt > 0, 20000);
    const finished = await call(s, 'GET', `/jobs/${job.body.jobId}`);
    assert.equal(finished.body.status, 'completed', 'the running job was left to finish');
  });

  test('idle: the update happens at once, drain or not', async () => {
    let updates = 0;
    const s = await server(() => ({ response: { status: 'updating', version: '1' }, after: () => updates++ }));
    const r = await call(s, 'POST', '/update', { drain: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'updating');
    await waitFor('the update', () => updates === 1);
  });

  test('a host that never restarts (the extension) is not drained', async () => {
    const s = await server();
    await call(s, 'POST', '/exec', { command: 'sleep 1' });
    const r = await call(s, 'POST', '/update', { drain: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'unsupported');
    assert.equal((await call(s, 'POST', '/exec', { command: 'echo still taking work' })).status, 202);
  });
});

describe('reach on a running server', () => {
  test('tunnel + registration: /health, environment, banner code, token refresh pushed to the dashboard', async () => {
    const dt = fakeDevtunnel({ FAKE_DT_TOKEN_TTL: '4' });
    cleanups.push(dt.cleanup);
    const dashboard = await new Dashboard().start();
    cleanups.push(() => dashboard.stop());
    const s = await server();
    const env: NodeJS.ProcessEnv = {};
    const reach: Reach = await startReach(s, {
      tunnel: true,
      register: dashboard.url,
      name: 'vm-1',
      env,
      tunnelOptions: { env: dt.env, hostName: 'vm-1', limits: { tokenRefreshMarginMs: 2500 } },
      registrationLimits: { pollIntervalMs: 100 },
    });
    cleanups.push(() => reach.stop());
    let challenge: ChallengeEvent | undefined;
    reach.on('challenge', (c: ChallengeEvent) => (challenge = c));

    const tunnelUrl = reach.tunnel!.url;
    assert.match(tunnelUrl, new RegExp(`^https://[0-9a-f]{8}-${s.port}\\.usw2\\.devtunnels\\.ms$`));
    assert.equal(env.DEVPILOT_TUNNEL_URL, tunnelUrl);
    assert.equal(env.DEVPILOT_TERMINAL_URL, reach.tunnel!.terminalUrl);
    assert.equal(env.DEVPILOT_TUNNEL_TOKEN, reach.tunnel!.token);

    const open = await (await fetch(`${s.url}/health`)).json();
    assert.deepEqual(open, { status: 'ok', authenticated: false }, 'nothing about reach without the key');

    await waitFor('the challenge code', () => challenge);
    let health = (await call(s, 'GET', '/health')).body;
    assert.equal(health.tunnel_url, tunnelUrl);
    assert.equal(health.terminal_url, reach.tunnel!.terminalUrl);
    assert.equal(health.registration.status, 'pending');
    assert.equal(health.registration.challenge_code, challenge!.code);
    const submitted = dashboard.calls('POST', '/api/register').find((q) => q.path === '/api/register')!;
    assert.equal(submitted.body.tunnel_url, tunnelUrl);
    assert.equal(submitted.body.api_key, KEY);

    dashboard.confirm(challenge!.code);
    await waitFor('registered', () => reach.registration!.state.status === 'registered');
    health = (await call(s, 'GET', '/health')).body;
    assert.equal(health.registration.status, 'registered');
    assert.equal(JSON.stringify(health).includes(KEY), false, 'the key is never in /health');

    // The token lives 4 s and is refreshed 2.5 s before expiry: the dashboard must see new ones.
    const firstToken = dashboard.devboxes.get('vm-1')!.tunnel_token;
    await waitFor('a refreshed token on the dashboard', () => dashboard.devboxes.get('vm-1')!.tunnel_token !== firstToken, 20000);
    const pushed = dashboard.calls('POST', '/api/register/refresh-token').at(-1)!;
    assert.match(String(pushed.body.tunnel_token), /^eyJ/);
    assert.notEqual(pushed.body.tunnel_token, firstToken);
    assert.equal(env.DEVPILOT_TUNNEL_TOKEN, reach.tunnel!.token);

    // A rotated key is announced with the old one as proof.
    s.keys.set('rotated-key-0123456789abcdef0123');
    await waitFor('the new key on the dashboard', () => dashboard.devboxes.get('vm-1')!.api_key === 'rotated-key-0123456789abcdef0123');
    s.keys.set(KEY);
    await waitFor('the key back on the dashboard', () => dashboard.devboxes.get('vm-1')!.api_key === KEY);

    const hostPid = reach.tunnel!.hostPid!;
    await reach.stop();
    await waitFor('the host stopped', () => {
      try {
        process.kill(hostPid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  test('a tunnel that cannot start: one warning, the server keeps serving locally, registration uses local URLs', async () => {
    const empty = tempDir('no-devtunnel');
    cleanups.push(() => removeDir(empty));
    const dashboard = await new Dashboard().start();
    cleanups.push(() => dashboard.stop());
    const s = await server();
    const env: NodeJS.ProcessEnv = {};
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => errors.push(m) };
    const reach = await startReach(s, {
      tunnel: true,
      register: dashboard.url,
      name: 'vm-2',
      env,
      logger,
      tunnelOptions: { env: { ...process.env, PATH: empty } },
      registrationLimits: { pollIntervalMs: 100 },
    });
    cleanups.push(() => reach.stop());
    assert.equal(errors.length, 1);
    assert.match(errors[0], /devtunnel CLI was not found on PATH.*devtunnel user login.*Serving locally only\./);
    assert.equal(reach.tunnel, undefined);
    assert.equal(env.DEVPILOT_TUNNEL_URL, undefined);
    await waitFor('the registration submitted', () => dashboard.calls('POST', '/api/register').find((q) => q.path === '/api/register'));
    const submitted = dashboard.calls('POST', '/api/register').find((q) => q.path === '/api/register')!;
    assert.equal(submitted.body.tunnel_url, `http://localhost:${s.port}`);
    const health = (await call(s, 'GET', '/health')).body;
    assert.equal(health.tunnel_url, null);
    assert.equal(health.status, 'ok');
  });

  test('a tunnel given in the environment is reported as is', async () => {
    const s = await server();
    const env: NodeJS.ProcessEnv = { DEVPILOT_TUNNEL_URL: `https://given-${s.port}.euw.devtunnels.ms` };
    const reach = await startReach(s, { name: 'vm-3', env });
    cleanups.push(() => reach.stop());
    const health = (await call(s, 'GET', '/health')).body;
    assert.equal(health.tunnel_url, env.DEVPILOT_TUNNEL_URL);
    // Port 0 means no separate terminal port: the terminal is reached on the command port.
    assert.equal(health.terminal_url, `${env.DEVPILOT_TUNNEL_URL}/terminal`);
    assert.equal(health.registration, null);
  });
});
