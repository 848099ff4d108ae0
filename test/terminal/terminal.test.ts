// The terminal end to end: a real HTTP server, real PTYs running bash, real `ws` clients.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lydell from '@lydell/node-pty';
import type { PtyModule } from '../../src/server/terminal/pty';
import { spawnCli } from '../helpers/server';
import { KEY, TermClient, openTerminal, startServer, waitUntil, type TestServer } from './helpers';

const servers: TestServer[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'terminal-test-'));

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

async function server(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

/** An upgrade request sent by hand, to see the plain HTTP answer a refused one gets. */
function rawUpgrade(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; upgraded: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '', upgraded: true });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, upgraded: false }));
    });
    req.on('error', reject);
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function api(srv: TestServer, method: string, path: string, key: string | null = KEY): Promise<{ status: number; body: any }> {
  const res = await fetch(`${srv.base}${path}`, { method, headers: key ? { 'x-api-key': key } : {} });
  return { status: res.status, body: await res.json() };
}

test('typing `echo $((6*7))` shows 42, and `stty size` follows a resize', async () => {
  const srv = await server();
  const c = await openTerminal(srv, 'cols=100&rows=30');
  assert.deepEqual({ ...c.controls[0], id: undefined }, { type: 'session', id: undefined, cols: 100, rows: 30, resumed: false });
  c.type('echo $((6*7))\r');
  await c.waitFor(/^42\r$/m);
  c.type('stty size\r');
  await c.waitFor(/^30 100\r$/m);
  c.send({ type: 'resize', cols: 132, rows: 43 });
  c.type('stty size\r');
  await c.waitFor(/^43 132\r$/m);
  c.send({ type: 'resize', cols: 9999, rows: 0.5 });
  c.send({ type: 'resize', cols: 3, rows: 9999 });
  c.type('stty size; echo $TERM\r');
  await c.waitFor(/^200 10\r\nxterm-256color\r$/m);
  c.send({ type: 'ping' });
  await c.waitForControl('pong');
  await c.close();
});

test('a dropped connection keeps the shell; reconnecting with ?session= replays the screen, then goes on live', async () => {
  const srv = await server();
  const a = await openTerminal(srv);
  a.type('export MARK=kept; echo first-$((40+2))\r');
  await a.waitFor(/^first-42\r$/m);
  const id = a.sessionId!;
  const pid = srv.service.list()[0].pid;
  await a.drop();
  await waitUntil(
    () => srv.service.list()[0]?.clients === 0,
    10_000,
    () => 'never detached',
  );
  const info = srv.service.list()[0];
  assert.equal(info.id, id);
  assert.ok(info.detachedUntil! > Date.now() / 1000, 'a detached session says until when it waits');
  assert.ok(alive(pid), 'the shell survives the drop');

  const b = new TermClient(`${srv.wsBase}/terminal/ws?session=${id}`);
  await b.opened;
  const session = await b.waitForControl('session');
  assert.equal(session.id, id);
  assert.equal(session.resumed, true);
  // The replay is what the screen shows, earlier output included, before anything new.
  await b.waitFor('first-42');
  b.type('echo $MARK-again\r');
  await b.waitFor(/^kept-again\r$/m);
  assert.equal(srv.service.list()[0].pid, pid, 'the same shell');
  await b.close();
});

test('the replay restores terminal state, not bytes: the alternate screen and modes come back', async () => {
  const srv = await server();
  const a = await openTerminal(srv, 'cols=80&rows=24');
  // Enter the alternate screen, turn on application cursor keys, draw at row 5.
  a.type(`printf '\\033[?1049h\\033[?1h\\033[5;3HALT-%s-TEXT' SCREEN; sleep 30\r`);
  await a.waitFor('ALT-SCREEN-TEXT');
  const id = a.sessionId!;
  await a.drop();
  const b = new TermClient(`${srv.wsBase}/terminal/ws?session=${id}`);
  await b.opened;
  await b.waitFor('ALT-SCREEN-TEXT');
  assert.ok(b.output.includes('\x1b[?1049h'), 'the replay switches to the alternate screen');
  assert.ok(b.output.includes('\x1b[?1h'), 'the replay restores application cursor keys');
  assert.ok(b.output.indexOf('\x1b[?1049h') < b.output.indexOf('ALT-SCREEN-TEXT'));
  await b.close();
});

test('several clients share one session: all see the output and all may type', async () => {
  const srv = await server();
  const a = await openTerminal(srv);
  const b = new TermClient(`${srv.wsBase}/terminal/ws?session=${a.sessionId}`);
  await b.opened;
  await b.waitForControl('session');
  a.type('echo from-a-$((1+1))\r');
  await a.waitFor(/^from-a-2\r$/m);
  await b.waitFor(/^from-a-2\r$/m);
  b.type('echo from-b-$((2+2))\r');
  await a.waitFor(/^from-b-4\r$/m);
  await b.waitFor(/^from-b-4\r$/m);
  assert.equal(srv.service.list()[0].clients, 2);
  // A clean close by one client leaves the session to the other; by the last one, it ends it.
  await a.close(1000);
  await waitUntil(
    () => srv.service.list()[0]?.clients === 1,
    10_000,
    () => 'a never detached',
  );
  const pid = srv.service.list()[0].pid;
  await b.close(1000);
  await waitUntil(
    () => srv.service.sessionCount() === 0,
    10_000,
    () => 'session did not end after the last clean close',
  );
  await waitUntil(
    () => !alive(pid),
    10_000,
    () => `shell ${pid} still alive`,
  );
});

test('the shell exiting sends an exit message and closes with 1000', async () => {
  const srv = await server();
  const c = await openTerminal(srv);
  c.type('exit 3\r');
  const exit = await c.waitForControl('exit');
  assert.equal(exit.exitCode, 3);
  assert.equal(exit.reason, 'exit');
  assert.equal(await c.closed, 1000);
  assert.equal(srv.service.sessionCount(), 0);
});

test('workdir sets the cwd directly, command runs in the new shell, and a bad workdir is refused', async () => {
  const srv = await server();
  const dir = realpathSync(mkdtempSync(join(tmp, 'wd-')));
  const c = await openTerminal(srv, `workdir=${encodeURIComponent(dir)}&command=${encodeURIComponent('echo cmd-ran-$((3*3)); pwd')}`);
  await c.waitFor(/^cmd-ran-9\r$/m);
  await c.waitFor(new RegExp(`^${dir}\\r$`, 'm'));
  assert.equal(srv.service.list()[0].workdir, dir);
  await c.close();

  const bad = new TermClient(`${srv.wsBase}/terminal/ws?workdir=${encodeURIComponent(join(tmp, 'missing'))}`);
  assert.equal(await bad.closed, 1008);
  assert.match(String(bad.controls[0]?.message), /not an existing directory/);
});

test('unauthenticated upgrades get HTTP 401 and foreign origins 403, before any WebSocket opens', async () => {
  const srv = await server();
  for (const [port, path] of [
    [srv.port, '/terminal/ws'],
    [srv.terminalPort, '/'],
    [srv.terminalPort, '/any/path'],
  ] as const) {
    const none = await rawUpgrade(port, path, {});
    assert.equal(none.status, 401);
    assert.equal(none.upgraded, false);
    assert.deepEqual(JSON.parse(none.body), { error: 'invalid or missing API key' });
  }
  assert.equal((await rawUpgrade(srv.port, '/terminal/ws', { 'x-api-key': 'wrong' })).status, 401);
  assert.equal((await rawUpgrade(srv.port, '/terminal/ws', { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await rawUpgrade(srv.port, '/terminal/ws?ticket=forged', {})).status, 401);
  const foreign = await rawUpgrade(srv.port, '/terminal/ws', { 'x-api-key': KEY, Origin: 'https://evil.example' });
  assert.equal(foreign.status, 403);
  assert.match(JSON.parse(foreign.body).error, /evil\.example/);
  const own = await rawUpgrade(srv.port, '/terminal/ws', { 'x-api-key': KEY, Origin: `http://127.0.0.1:${srv.port}` });
  assert.equal(own.upgraded, true);
  await waitUntil(
    () => srv.service.sessionCount() === 1,
    10_000,
    () => 'the accepted upgrade started no session',
  );
  // On the command port only /terminal/ws is a WebSocket.
  assert.equal((await rawUpgrade(srv.port, '/jobs', { 'x-api-key': KEY })).status, 404);
  assert.equal(srv.service.sessionCount(), 1, 'the refused ones started nothing');
  // The key as a bearer token, as on every keyed route.
  assert.equal((await rawUpgrade(srv.port, '/terminal/ws', { authorization: `Bearer ${KEY}` })).upgraded, true);
  await waitUntil(
    () => srv.service.sessionCount() === 2,
    10_000,
    () => 'the upgrade with a bearer key started no session',
  );
});

test('tickets: bought with the key, good for one connection', async () => {
  const srv = await server();
  assert.equal((await api(srv, 'POST', '/terminal/tickets', null)).status, 401);
  assert.equal((await api(srv, 'POST', '/terminal/tickets', 'wrong')).status, 401);
  const issued = await api(srv, 'POST', '/terminal/tickets');
  assert.equal(issued.status, 201);
  assert.equal(issued.body.expiresInSeconds, 30);
  const url = `${srv.wsBase}/terminal/ws?ticket=${issued.body.ticket}`;
  const c = new TermClient(url, { Origin: `http://127.0.0.1:${srv.port}` });
  await c.opened;
  await c.waitForControl('session');
  const again = await rawUpgrade(srv.port, `/terminal/ws?ticket=${issued.body.ticket}`, {});
  assert.equal(again.status, 401, 'a used ticket is refused');
  await c.close();
});

test('GET /terminals lists sessions and DELETE /terminals/{id} ends one; both need the key', async () => {
  const srv = await server();
  assert.equal((await api(srv, 'GET', '/terminals', null)).status, 401);
  const c = await openTerminal(srv);
  const list = await api(srv, 'GET', '/terminals');
  assert.equal(list.status, 200);
  assert.equal(list.body.terminals.length, 1);
  assert.equal(list.body.terminals[0].id, c.sessionId);
  assert.equal(list.body.maxSessions, 2);
  const pid = list.body.terminals[0].pid;
  assert.equal((await api(srv, 'DELETE', `/terminals/${c.sessionId}`, null)).status, 401);
  assert.equal((await api(srv, 'DELETE', '/terminals/nope')).status, 404);
  const del = await api(srv, 'DELETE', `/terminals/${c.sessionId}`);
  assert.deepEqual(del.body, { id: c.sessionId, ended: true });
  const exit = await c.waitForControl('exit');
  assert.equal(exit.reason, 'deleted');
  assert.equal(await c.closed, 1000);
  assert.equal(alive(pid), false);
  assert.equal(srv.service.health().terminal_sessions, 0);
});

test('bad frames get error messages and the session goes on; an oversized message closes with 1009', async () => {
  const srv = await server({ maxMessageBytes: 4096 });
  const c = await openTerminal(srv);
  c.ws.send('not json');
  c.ws.send(JSON.stringify({ type: 'launch' }));
  c.ws.send(Buffer.from('binary'), { binary: true });
  await waitUntil(
    () => c.controls.filter((m) => m.type === 'error').length === 3,
    10_000,
    () => JSON.stringify(c.controls),
  );
  c.type('echo still-$((5+5))\r');
  await c.waitFor(/^still-10\r$/m);
  c.type('x'.repeat(5000));
  assert.equal(await c.closed, 1009);
  // An oversized message is a fault of the connection, not a request to end: the shell waits for a reconnect.
  assert.equal(srv.service.sessionCount(), 1);
});

test('a multi-byte character split across PTY reads arrives whole, also from a module that hands out Buffers', async () => {
  // A host-provided node-pty may deliver raw bytes; this one is @lydell/node-pty told to do exactly that.
  const bytesPty: PtyModule = { spawn: (file, args, opts) => lydell.spawn(file, args, { ...opts, encoding: null }) };
  for (const extra of [{}, { ptyModule: bytesPty }]) {
    const srv = await server({}, extra);
    const c = await openTerminal(srv);
    // The first byte of € (E2 82 AC), a pause long enough for its own read, then the rest.
    c.type(`printf '\\342'; sleep 0.5; printf '\\202\\254-split\\n'\r`);
    await c.waitFor('€-split');
    assert.ok(!c.output.includes('\ufffd'), 'no replacement character');
    assert.ok(
      c.outputFrames.some((f) => f.includes('€')),
      'the character sits whole in one frame',
    );
    await c.close();
  }
});

test('beyond max sessions the next one gets an error message and close 1013', async () => {
  const srv = await server({ maxSessions: 2 });
  const a = await openTerminal(srv);
  const b = await openTerminal(srv);
  await b.drop(); // A detached session waiting for a reconnect still holds its slot.
  const c = new TermClient(`${srv.wsBase}/terminal/ws`);
  assert.equal(await c.closed, 1013);
  assert.match(String(c.controls[0]?.message), /too many terminal sessions \(max 2\)/);
  assert.equal(srv.service.sessionCount(), 2);
  await a.close();
});

test('an unknown or expired session id is refused with 4404', async () => {
  const srv = await server({ reconnectGraceMs: 1000 });
  const a = await openTerminal(srv);
  const id = a.sessionId!;
  await a.drop();
  await waitUntil(
    () => srv.service.sessionCount() === 0,
    15_000,
    () => 'the grace period never ended the session',
  );
  const late = new TermClient(`${srv.wsBase}/terminal/ws?session=${id}`);
  assert.equal(await late.closed, 4404);
  assert.match(String(late.controls[0]?.message), /no terminal session/);
});

test('the idle timeout ends a quiet session with a message', async () => {
  const srv = await server({ idleTimeoutMs: 1500 });
  const c = await openTerminal(srv);
  const exit = await c.waitForControl('exit');
  assert.equal(exit.reason, 'idle');
  assert.ok(c.controls.some((m) => m.type === 'error' && /idle/.test(String(m.message))));
  assert.equal(await c.closed, 1000);
  assert.equal(srv.service.sessionCount(), 0);
});

test('the maximum lifetime ends even a busy session', async () => {
  const srv = await server({ maxLifetimeMs: 2000 });
  const c = await openTerminal(srv);
  c.type('while :; do echo busy; sleep 0.2; done\r');
  const exit = await c.waitForControl('exit');
  assert.equal(exit.reason, 'lifetime');
  assert.equal(await c.closed, 1000);
});

test('terminals turned off: health says so, tickets and upgrades get 503', async () => {
  const srv = await server({}, { ptyModule: false });
  assert.equal(srv.service.supported(), false);
  assert.deepEqual(srv.service.health(), {
    terminal_supported: false,
    terminal_sessions: 0,
    terminal_max_sessions: 2,
    terminal_unsupported_reason: 'terminals are turned off on this host',
  });
  assert.equal((await api(srv, 'POST', '/terminal/tickets')).status, 503);
  const up = await rawUpgrade(srv.port, '/terminal/ws', { 'x-api-key': KEY });
  assert.equal(up.status, 503);
  assert.equal((await rawUpgrade(srv.port, '/terminal/ws', {})).status, 401, 'auth is still checked first');
});

test('dispose ends every shell', async () => {
  const srv = await startServer();
  const a = await openTerminal(srv);
  a.type('sleep 1000\r');
  const pid = srv.service.list()[0].pid;
  await srv.close();
  assert.equal(alive(pid), false);
  const exit = await a.waitForControl('exit');
  assert.equal(exit.reason, 'shutdown');
});

test('the page and its assets are served without a key', async () => {
  const srv = await server();
  const page = await fetch(`${srv.base}/terminal`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.match(await page.text(), /terminal\/assets\/terminal\.js/);
  assert.equal((await fetch(`${srv.base}/terminal/assets/terminal.css`)).status, 200);
  assert.equal((await fetch(`${srv.base}/terminal/assets/secret.txt`)).status, 404);
  assert.equal((await fetch(`${srv.base}/terminal/assets/..%2fpackage.json`)).status, 404);
  const slash = await fetch(`${srv.base}/terminal/`, { redirect: 'manual' });
  assert.equal(slash.status, 301);
});

test('the terminal port takes every upgrade path and serves the page; /health and POST /update know of terminals', async () => {
  const srv = await server();
  const c = new TermClient(`ws://127.0.0.1:${srv.terminalPort}/some/seed/path?cols=90&rows=20`);
  await c.opened;
  await c.waitForControl('session');
  c.type('echo on-terminal-port-$((6*7))\r');
  await c.waitFor(/^on-terminal-port-42\r$/m);
  const home = await fetch(`http://127.0.0.1:${srv.terminalPort}/`, { redirect: 'manual' });
  assert.equal(home.status, 302);
  assert.equal((await fetch(`http://127.0.0.1:${srv.terminalPort}/terminal`)).status, 200);
  const health = await api(srv, 'GET', '/health');
  assert.equal(health.body.terminal_supported, true);
  assert.equal(health.body.terminal_sessions, 1);
  const update = await api(srv, 'POST', '/update');
  assert.equal(update.status, 409);
  assert.equal(update.body.error, 'cannot update while terminal sessions are active');
  await c.close();
  await waitUntil(
    () => srv.service.sessionCount() === 0,
    10_000,
    () => 'session did not end',
  );
  assert.equal((await api(srv, 'GET', '/health')).body.terminal_sessions, 0);
});

test('the agent-server CLI bundle serves terminals on both ports', async () => {
  const cli = await spawnCli(['--terminal-port', '0', '--state-dir', tmp], {}, KEY);
  try {
    await waitUntil(
      () => /and port \d+/.test(cli.stderr()),
      20_000,
      () => `the banner names no terminal port: ${cli.stderr()}`,
    );
    const port = Number(/and port (\d+)/.exec(cli.stderr())?.[1]);
    for (const url of [`${cli.url.replace('http', 'ws')}/terminal/ws`, `ws://127.0.0.1:${port}/`]) {
      const c = new TermClient(url);
      await c.opened;
      await c.waitForControl('session');
      c.type('echo cli-$((6*7))\r');
      await c.waitFor(/^cli-42\r$/m);
      await c.close();
    }
    const page = await fetch(`${cli.url}/terminal/assets/terminal.js`);
    assert.equal(page.status, 200, 'the bundle finds the built page assets');
  } finally {
    await cli.stop();
  }
});
