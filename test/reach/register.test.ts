// Registration against a real local HTTP dashboard implementing the seed's endpoints (./dashboard.ts).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { challengeCode, Registration, type ChallengeEvent, type RegistrationInfo, type RegistrationOptions } from '../../src/server/register';
import { Dashboard } from './dashboard';
import { waitFor } from './helpers';

const dashboards: Dashboard[] = [];
const registrations: Registration[] = [];
after(async () => {
  for (const r of registrations) r.stop();
  for (const d of dashboards) await d.stop();
});

async function dashboard(): Promise<Dashboard> {
  const d = await new Dashboard().start();
  dashboards.push(d);
  return d;
}

const info: RegistrationInfo = {
  tunnel_url: 'https://abc-8585.usw2.devtunnels.ms',
  terminal_url: 'https://abc-8586.usw2.devtunnels.ms',
  tunnel_token: 'eyJ.token.one',
  api_key: 'key-1',
};

function registration(d: Dashboard, opts: Partial<RegistrationOptions> = {}, current: () => RegistrationInfo = () => info): Registration {
  const r = new Registration({
    dashboardUrl: `${d.url}/`,
    name: 'box-a',
    info: current,
    ...opts,
    limits: { pollIntervalMs: 100, retryInitialMs: 50, retryMaxMs: 200, requestTimeoutMs: 5000, ...opts.limits },
  });
  registrations.push(r);
  return r;
}

function knownBox(d: Dashboard): void {
  d.devboxes.set('box-a', { id: 'devbox-7', name: 'box-a', tunnel_url: 'old', terminal_url: 'old', tunnel_token: 'old', api_key: 'key-1' });
}

describe('registration', () => {
  test('challenge codes are ABC-1234 and not repeated', () => {
    const codes = Array.from({ length: 500 }, challengeCode);
    for (const c of codes) assert.match(c, /^[A-Z]{3}-\d{4}$/);
    assert.ok(new Set(codes).size > 490);
  });

  test('a machine the dashboard knows is re-registered by refresh-token alone', async () => {
    const d = await dashboard();
    knownBox(d);
    const r = registration(d);
    const state = await r.start();
    assert.equal(state.status, 'registered');
    assert.equal(state.via, 'refresh');
    assert.equal(state.devbox, 'devbox-7');
    assert.deepEqual(
      d.requests.map((q) => `${q.method} ${q.path}`),
      ['POST /api/register/refresh-token'],
    );
    assert.deepEqual(d.requests[0].body, { name: 'box-a', ...info, current_api_key: 'key-1' });
    assert.equal(d.devboxes.get('box-a')!.tunnel_url, info.tunnel_url);
  });

  test('the full challenge flow: code shown, confirmed by a person, then updates are pushed', async () => {
    const d = await dashboard();
    let current = info;
    const r = registration(d, {}, () => current);
    const statuses: string[] = [];
    r.on('state', (s) => statuses.push(s.status));
    let challenge: ChallengeEvent | undefined;
    r.on('challenge', (c: ChallengeEvent) => (challenge = c));
    const done = r.start();

    await waitFor('the challenge code', () => challenge);
    assert.match(challenge!.code, /^[A-Z]{3}-\d{4}$/);
    assert.equal(challenge!.confirm_url, `${d.url}/devboxes`);
    assert.equal(r.state.status, 'pending');
    assert.equal(r.state.challenge_code, challenge!.code, 'the code is observable (for /health and the extension)');
    const submitted = d.calls('POST', '/api/register').find((q) => q.path === '/api/register')!;
    assert.deepEqual(submitted.body, {
      name: 'box-a',
      tunnel_url: info.tunnel_url,
      terminal_url: info.terminal_url,
      challenge_code: challenge!.code,
      api_key: 'key-1',
      tunnel_token: info.tunnel_token,
    });
    await waitFor('a few status polls', () => d.calls('GET', '/api/register/').length >= 2);
    assert.equal(d.confirm(challenge!.code)?.name, 'box-a');

    const state = await done;
    assert.equal(state.status, 'registered');
    assert.equal(state.via, 'challenge');
    assert.deepEqual(state.devbox, { id: 'devbox-reg-1', name: 'box-a' });
    assert.equal(state.challenge_code, undefined);
    assert.deepEqual(statuses, ['submitting', 'pending', 'registered']);

    current = { ...info, tunnel_token: 'eyJ.token.two' };
    assert.equal(await r.pushUpdate(), true);
    assert.equal(d.devboxes.get('box-a')!.tunnel_token, 'eyJ.token.two');
  });

  test('an unconfirmed code times out with a clear message', async () => {
    const d = await dashboard();
    const r = registration(d, { limits: { confirmTimeoutMs: 1200 } });
    const state = await r.start();
    assert.equal(state.status, 'timeout');
    assert.match(state.error!, /not confirmed within 1 s; start again with --register/);
    assert.ok(d.calls('GET', '/api/register/').length >= 3, 'it kept polling until the deadline');
  });

  test("an HTTP error on submission fails with the status and the dashboard's words", async () => {
    const d = await dashboard();
    d.forced.set('POST /api/register', { status: 500, body: { error: 'database down' } });
    const state = await registration(d).start();
    assert.equal(state.status, 'failed');
    assert.match(state.error!, /refused the registration \(HTTP 500: \{"error":"database down"\}\)/);
    assert.equal(d.requests.length, 2, 'an HTTP error is not retried');
  });

  test('a rejected registration fails; a 2xx without an id fails', async () => {
    const d = await dashboard();
    d.forced.set('GET /api/register/', { status: 200, body: { status: 'rejected' } });
    const state = await registration(d).start();
    assert.equal(state.status, 'failed');
    assert.match(state.error!, /answered "rejected"/);

    const d2 = await dashboard();
    d2.forced.set('POST /api/register', { status: 200, body: { ok: true } });
    const s2 = await registration(d2).start();
    assert.equal(s2.status, 'failed');
    assert.match(s2.error!, /sent no id/);
  });

  test('network errors are retried with backoff, on every call', async () => {
    const d = await dashboard();
    d.dropNext = 3; // the first refresh-token call and two retries get their connection cut
    const r = registration(d, { limits: { networkRetries: 5 } });
    let challenge: ChallengeEvent | undefined;
    r.on('challenge', (c: ChallengeEvent) => {
      challenge = c;
      d.dropNext = 2; // two status polls fail too; polling goes on
    });
    const done = r.start();
    await waitFor('the challenge code', () => challenge);
    assert.equal(d.calls('POST', '/api/register/refresh-token').length, 4);
    await waitFor('polls past the dropped ones', () => d.calls('GET', '/api/register/').length >= 3);
    d.confirm(challenge!.code);
    assert.equal((await done).status, 'registered');
  });

  test('a dashboard that cannot be reached: failed after the retries, saying so', async () => {
    const d = await dashboard();
    await d.stop();
    dashboards.splice(dashboards.indexOf(d), 1);
    const state = await registration(d, { limits: { networkRetries: 2 } }).start();
    assert.equal(state.status, 'failed');
    assert.match(state.error!, /could not reach the dashboard at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) after 3 tries/);
  });

  test('stop() ends polling', async () => {
    const d = await dashboard();
    const r = registration(d);
    const done = r.start();
    await waitFor('pending', () => r.state.status === 'pending');
    r.stop();
    assert.equal((await done).status, 'stopped');
    const n = d.requests.length;
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(d.requests.length, n, 'no request after stop');
  });

  test('bad dashboard URL or empty name is refused up front', async () => {
    assert.throws(() => new Registration({ dashboardUrl: 'ftp://x', name: 'a', info: () => info }), /http\(s\) URL/);
    assert.throws(() => new Registration({ dashboardUrl: 'http://x', name: ' ', info: () => info }), /machine name/);
  });
});
