// The tunnel against a stand-in `devtunnel` on PATH (test/reach/fixtures/devtunnel.mjs): the real
// devtunnel service is unreachable here, so the stand-in prints what the real CLI prints.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTunnel, TunnelError, type Tunnel, type TunnelOptions } from '../../src/server/tunnel/tunnel';
import { defaultTunnelId, jwtExpiryMs, terminalUrlFor, tokenFromOutput, tunnelUrlsIn } from '../../src/server/tunnel/parse';
import { alive, devtunnelCalls, fakeDevtunnel, hostPids, removeDir, tempDir, waitFor } from './helpers';

const started: Tunnel[] = [];
const cleanups: (() => void)[] = [];
after(async () => {
  for (const t of started) await t.stop();
  for (const c of cleanups) c();
});

function fake(knobs: Record<string, string> = {}) {
  const f = fakeDevtunnel(knobs);
  cleanups.push(f.cleanup);
  return f;
}

async function start(env: NodeJS.ProcessEnv, opts: Partial<TunnelOptions> = {}): Promise<Tunnel> {
  const t = await startTunnel({ port: 18585, terminalPort: 18586, hostName: 'Test-Box', env, ...opts });
  started.push(t);
  return t;
}

describe('devtunnel output parsing', () => {
  test('host URLs in both printed forms, inspect URLs skipped', () => {
    assert.deepEqual(tunnelUrlsIn('Connect via browser: https://abc123-8585.usw2.devtunnels.ms'), [
      { url: 'https://abc123-8585.usw2.devtunnels.ms', port: 8585 },
    ]);
    assert.deepEqual(tunnelUrlsIn('Connect via browser: https://abc123.euw.devtunnels.ms:8586, https://abc123-8586.euw.devtunnels.ms'), [
      { url: 'https://abc123-8586.euw.devtunnels.ms', port: 8586 },
      { url: 'https://abc123-8586.euw.devtunnels.ms', port: 8586 },
    ]);
    assert.deepEqual(tunnelUrlsIn('Inspect network activity: https://abc123-8585-inspect.usw2.devtunnels.ms'), []);
    assert.deepEqual(tunnelUrlsIn('see https://example.com:8585 and https://mock.devtunnels.ms.'), [{ url: 'https://mock.devtunnels.ms' }]);
  });

  test('terminal URL: the terminal port swapped in, else /terminal on the command port', () => {
    assert.equal(terminalUrlFor('https://abc-8585.usw2.devtunnels.ms', 8585, 8586), 'https://abc-8586.usw2.devtunnels.ms');
    assert.equal(terminalUrlFor('https://abc-8585.usw2.devtunnels.ms', 8585, -1), 'https://abc-8585.usw2.devtunnels.ms/terminal');
    assert.equal(terminalUrlFor('https://mock.devtunnels.ms', 8585, 8586), 'https://mock.devtunnels.ms/terminal');
  });

  test('token line and JWT expiry', () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1700000000 })).toString('base64url');
    const jwt = `eyJhbGciOiJFUzI1NiJ9.${payload}.sig`;
    assert.equal(tokenFromOutput(`Tunnel ID: x.usw2\nScope: connect\r\nToken: ${jwt}\r\n`), jwt);
    assert.equal(tokenFromOutput('Token: not-a-jwt'), undefined);
    assert.equal(tokenFromOutput('no token here'), undefined);
    assert.equal(jwtExpiryMs(jwt), 1700000000 * 1000);
    assert.equal(jwtExpiryMs('a.b.c'), undefined);
  });

  test('default tunnel ID is made of host and port, in the characters devtunnel accepts', () => {
    assert.equal(defaultTunnelId('DEVBOX_01.corp', 8585), 'devpilot-devbox-01-corp-8585');
    assert.equal(defaultTunnelId('', 8585), 'devpilot-8585');
  });
});

describe('tunnel lifecycle', () => {
  test('no devtunnel on PATH: one message saying what to install and run', async () => {
    const empty = tempDir('empty-path');
    cleanups.push(() => removeDir(empty));
    await assert.rejects(
      startTunnel({ port: 18585, env: { ...process.env, PATH: empty } }),
      (err: Error) => err instanceof TunnelError && /not found on PATH/.test(err.message) && /devtunnel user login/.test(err.message),
    );
  });

  test('not logged in: says to run `devtunnel user login` and touches nothing', async () => {
    const f = fake({ FAKE_DT_LOGGED_IN: '0' });
    await assert.rejects(
      startTunnel({ port: 18585, env: f.env }),
      (err: Error) => err instanceof TunnelError && /not logged in/.test(err.message) && /devtunnel user login/.test(err.message),
    );
    assert.deepEqual(devtunnelCalls(f.state), [['user', 'show']]);
  });

  test('creates the tunnel, forwards both ports, mints a token, hosts it; a second start reuses it', async () => {
    const f = fake();
    const t = await start(f.env);
    const id = 'devpilot-test-box-18585';
    assert.equal(t.id, id);
    assert.deepEqual(devtunnelCalls(f.state), [
      ['user', 'show'],
      ['show', id],
      ['create', id, '--expiration', '30d'],
      ['port', 'create', id, '-p', '18585'],
      ['port', 'create', id, '-p', '18586'],
      ['access', 'create', id, '--anonymous'],
      ['token', id, '--scopes', 'connect'],
      ['host', id],
    ]);
    assert.match(t.url, /^https:\/\/[0-9a-f]{8}-18585\.usw2\.devtunnels\.ms$/);
    assert.equal(t.terminalUrl, t.url.replace('-18585.', '-18586.'));
    assert.equal(t.state, 'online');
    assert.match(t.token!, /^eyJ/);
    assert.ok(t.tokenExpiresAt! > Date.now() + 23 * 3600e3);
    const firstUrl = t.url;
    const pid = t.hostPid!;
    await t.stop();
    assert.equal(alive(pid), false, 'stop() ends the host process');
    assert.equal(t.state, 'stopped');

    const again = await start(f.env);
    assert.equal(again.url, firstUrl, 'a persistent tunnel keeps its URL');
    const calls = devtunnelCalls(f.state).slice(8);
    assert.equal(calls.filter((c) => c[0] === 'create').length, 0, 'an existing tunnel is reused, not created');
    await again.stop();
  });

  test('--tunnel-id and the URL printed with the port after the host name', async () => {
    const f = fake({ FAKE_DT_URL_STYLE: 'port' });
    const t = await start(f.env, { tunnelId: 'my-tunnel', terminalPort: -1 });
    assert.equal(t.id, 'my-tunnel');
    assert.match(t.url, /^https:\/\/[0-9a-f]{8}-18585\.usw2\.devtunnels\.ms$/);
    assert.equal(t.terminalUrl, `${t.url}/terminal`, 'without a terminal port the terminal is reached on the command port');
    assert.equal(devtunnelCalls(f.state).filter((c) => c[0] === 'port').length, 1, 'only the command port is forwarded');
    await t.stop();
  });

  test('a host that prints no URL: a clear error within the deadline, and the host is stopped', async () => {
    const f = fake({ FAKE_DT_HOST: 'silent' });
    await assert.rejects(
      startTunnel({ port: 18585, env: f.env, limits: { urlTimeoutMs: 1500 } }),
      (err: Error) => err instanceof TunnelError && /printed no tunnel URL within 1.5 s/.test(err.message) && /devtunnel host/.test(err.message),
    );
    const [pid] = hostPids(f.state);
    await waitFor('the silent host to be stopped', () => !alive(pid));
  });

  test('a host that fails at once: its own words in the error', async () => {
    const f = fake({ FAKE_DT_HOST: 'fail' });
    await assert.rejects(
      startTunnel({ port: 18585, env: f.env }),
      (err: Error) => err instanceof TunnelError && /exited \(code 1\) before printing a URL/.test(err.message) && /401 Unauthorized/.test(err.message),
    );
  });

  test('a host that dies is restarted with backoff, keeping the URL', async () => {
    const f = fake();
    const t = await start(f.env, { limits: { restartInitialMs: 200, restartMaxMs: 1000 } });
    const states: string[] = [];
    const warnings: string[] = [];
    t.on('state', (s) => states.push(s));
    t.on('warning', (w) => warnings.push(w));
    const url = t.url;
    for (let round = 1; round <= 2; round++) {
      const pid = t.hostPid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(`restart ${round}`, () => t.state === 'online' && t.hostPid !== undefined && t.hostPid !== pid);
      assert.equal(alive(pid), false);
    }
    assert.deepEqual(states, ['restarting', 'online', 'restarting', 'online']);
    assert.match(warnings[0], /exited \(signal SIGKILL\); restarting it in 0\.2 s/);
    assert.match(warnings[1], /restarting it in 0\.4 s/, 'the wait doubles on repeated deaths');
    assert.equal(t.url, url);
    assert.equal(hostPids(f.state).length, 3);
    const last = t.hostPid!;
    await t.stop();
    assert.equal(alive(last), false);
  });

  test('the token is refreshed before it expires and announced', async () => {
    const f = fake({ FAKE_DT_TOKEN_TTL: '4' });
    const t = await start(f.env, { limits: { tokenRefreshMarginMs: 2500 } });
    const first = t.token!;
    const seen: string[] = [];
    t.on('token', (tok: string) => seen.push(tok));
    await waitFor('two refreshed tokens', () => seen.length >= 2, 20000);
    assert.notEqual(seen[0], first);
    assert.notEqual(seen[1], seen[0]);
    assert.equal(t.token, seen[seen.length - 1]);
    await t.stop();
  });
});
