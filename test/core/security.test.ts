// Holes found by probing the server as an attacker would (issue 15; CONTRACT §8): the key is checked before
// a body is read, odd paths are JSON 4xx with no stack, `Host` must be one of the server's names and
// `X-Forwarded-Host` counts only from the tunnel; the defaults and the startup hint give nothing away.
// Real servers on loopback (both ports), raw sockets where a client would send what fetch cannot.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import { resolveOptions } from '../../src/server/config';
import { HostPolicy } from '../../src/server/http/hosts';
import { spawnCli, startTestServer, TEST_KEY, type TestServer } from '../helpers/server';

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends `head` (and `body`) as they are on a fresh connection and reads the answer: resolves once a whole
 * answer (by Content-Length) has come, or the server closed; rejects after `timeoutMs` with nothing.
 */
function raw(port: number, head: string, body = '', timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${head.split('\r\n')[0]}`));
    }, timeoutMs);
    const finish = () => {
      const text = got.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return false;
      const headers = text.slice(0, end);
      const length = Number(/^content-length:\s*(\d+)/im.exec(headers)?.[1] ?? NaN);
      const rest = got.subarray(Buffer.byteLength(text.slice(0, end + 4)));
      if (Number.isFinite(length) && rest.length < length) return false;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1]), headers, body: rest.toString('utf8') });
      return true;
    };
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      finish();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!finish()) {
        clearTimeout(timer);
        reject(new Error(`connection closed without an answer to ${head.split('\r\n')[0]}`));
      }
    });
    socket.write(head + body);
  });
}

function request(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** A JSON error: the right status class, a JSON body with `error`, and nothing of a stack or an HTML page. */
function assertJsonError(r: RawAnswer, status: number | RegExp, what: string): void {
  if (typeof status === 'number') assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
  else assert.match(String(r.status), status, `${what}: ${r.status} ${r.body}`);
  assert.match(r.headers, /^content-type: application\/json/im, `${what}: ${r.headers}`);
  assert.equal(typeof JSON.parse(r.body).error, 'string', what);
  assert.doesNotMatch(r.body, /<html|<pre|\bat [\w.<>]+ \(|node_modules|\/src\//i, `${what} shows no stack: ${r.body}`);
}

describe('security', () => {
  let s: TestServer;
  let port: number;
  let termPort: number;
  before(async () => {
    s = await startTestServer({ terminalPort: 0, maxBodyBytes: 1 << 20, allowedHosts: ['dash.example', '.corp.example'] });
    port = s.server.port;
    termPort = s.server.terminalPort!;
  });
  after(() => s.close());

  describe('the key is checked before a body is read', () => {
    const routes: Array<[string, string]> = [
      ['POST', '/exec'],
      ['GET', '/jobs/abc'], // the other one
      ['POST', '/jobs/abc/cancel'],
      ['POST', '/jobs/abc/input'],
      ['POST', '/update'],
      ['DELETE', '/sessions/x'],
      ['POST', '/terminal/tickets'],
      ['PUT', '/no/such/route'],
    ];

    it('a malformed body without a key, or with a wrong one, gets 401 on every route', async () => {
      for (const [method, path] of routes) {
        for (const key of [undefined, 'wrong-key']) {
          for (const framing of ['length', 'chunked'] as const) {
            const body = '{"command": "echo';
            const headers: Record<string, string | number> = { Host: `127.0.0.1:${port}`, 'Content-Type': 'application/json', Connection: 'close' };
            if (key) headers['X-API-Key'] = key;
            if (framing === 'length') headers['Content-Length'] = Buffer.byteLength(body);
            else headers['Transfer-Encoding'] = 'chunked';
            const sent = framing === 'length' ? body : `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
            const r = await raw(port, request(method, path, headers), sent);
            assertJsonError(r, 401, `${method} ${path} key=${key} ${framing}`);
            assert.deepEqual(JSON.parse(r.body), { error: 'invalid or missing API key' });
          }
        }
      }
    });

    it('answers 401 without waiting for a body that is announced and never sent', async () => {
      for (const [method, path] of routes) {
        const head = request(method, path, { Host: `127.0.0.1:${port}`, 'Content-Length': 1 << 20, 'Content-Type': 'application/json' });
        assertJsonError(await raw(port, head, '[[[[', 5000), 401, `${method} ${path}`);
      }
    });

    it('GET /health reads no body either, and the key still opens everything', async () => {
      const head = request('GET', '/health', { Host: `127.0.0.1:${port}`, 'Content-Length': 5, Connection: 'close' });
      const health = await raw(port, head, '{"a":');
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.body), { status: 'ok', authenticated: false });
      assert.equal((await s.run({ command: 'echo still-served' })).stdout, 'still-served\n');
      assert.match((await s.call('POST', '/exec', '{"command": "echo')).body.error, /malformed JSON/);
    });
  });

  describe('odd paths', () => {
    const paths = [
      '/terminal/assets/constructor',
      '/terminal/assets/__proto__',
      '/terminal/assets/toString',
      '/terminal/assets/hasOwnProperty',
      '/terminal/assets/%E0%A4%A',
      '/terminal/assets/..%2f..%2fpackage.json',
      '/__proto__',
      '/constructor',
      '/%',
      '/jobs/%E0%A4%A',
    ];

    it('are a JSON 4xx with no stack trace, on the command port (with and without the key) and the terminal port', async () => {
      for (const path of paths) {
        for (const [p, key] of [
          [port, TEST_KEY],
          [port, undefined],
          [termPort, undefined],
        ] as const) {
          const headers: Record<string, string> = { Host: `127.0.0.1:${p}`, Connection: 'close' };
          if (key) headers['X-API-Key'] = key;
          assertJsonError(await raw(p, request('GET', path, headers)), /^4\d\d$/, `GET ${path} on port ${p}${key ? ' with the key' : ''}`);
        }
      }
      // The real assets are still there.
      assert.equal((await fetch(`http://127.0.0.1:${termPort}/terminal/assets/terminal.css`)).status, 200);
    });

    it('an upgrade to a target that is no URL is refused, and the server lives on', async () => {
      for (const p of [port, termPort]) {
        const head = request('GET', '//[', {
          Host: `127.0.0.1:${p}`,
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': 13,
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'X-API-Key': TEST_KEY,
        });
        assertJsonError(await raw(p, head), /^4\d\d$/, `port ${p}`);
      }
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
    });
  });

  describe('Host', () => {
    const rebinding = 'rebind.attacker.example';

    it('a DNS-rebinding name gets 403 on both ports, whatever the route', async () => {
      const cases: Array<[number, string, string, Record<string, string>]> = [
        [port, 'GET', '/health', {}],
        [port, 'GET', '/terminal', {}],
        [port, 'GET', '/jobs', { 'X-API-Key': TEST_KEY }],
        [port, 'POST', '/exec', { 'X-API-Key': TEST_KEY, 'Content-Type': 'application/json', 'Content-Length': '22' }],
        [port, 'POST', '/terminal/tickets', { 'X-API-Key': TEST_KEY }],
        [termPort, 'GET', '/terminal', {}],
        [termPort, 'GET', '/terminal/assets/terminal.js', {}],
      ];
      for (const [p, method, path, headers] of cases) {
        const body = method === 'POST' && path === '/exec' ? '{"command":"echo oops"}' : '';
        const r = await raw(p, request(method, path, { Host: `${rebinding}:${p}`, Connection: 'close', ...headers }), body);
        assertJsonError(r, 403, `${method} ${path} on ${p}`);
        assert.match(JSON.parse(r.body).error, /not a name this server answers to.*allowedHosts/);
      }
      assert.equal((await s.call('GET', '/jobs')).body.jobs?.some?.((j: any) => j.command === 'echo oops') ?? false, false, 'nothing ran');
    });

    it('a DNS-rebinding page cannot open a terminal on either port, even with a ticket', async () => {
      for (const p of [port, termPort]) {
        const { ticket } = (await s.call('POST', '/terminal/tickets')).body;
        const status = await upgradeStatus(`ws://127.0.0.1:${p}/terminal/ws?ticket=${ticket}`, {
          Host: `${rebinding}:${p}`,
          Origin: `http://${rebinding}:${p}`,
        });
        assert.equal(status, 403, `port ${p}`);
      }
    });

    it("accepts loopback names, IP addresses, this machine's name, allowedHosts and the tunnel's hosts", async () => {
      const names = ['localhost', '127.0.0.1', '[::1]', 'app.localhost', '10.1.2.3', hostname(), 'DASH.example', 'build.corp.example', 'corp.example'];
      for (const name of names) {
        for (const p of [port, termPort]) {
          const r = await raw(p, request('GET', '/terminal', { Host: `${name}:${p}`, Connection: 'close' }));
          assert.equal(r.status, 200, `${name} on ${p}: ${r.body}`);
        }
      }
      for (const name of ['corp.example.evil', 'xcorp.example', 'dash.example.evil']) {
        assert.equal((await raw(port, request('GET', '/health', { Host: name, Connection: 'close' }))).status, 403, name);
      }
      const tunnel = 'abc1234-8585.usw2.devtunnels.ms';
      assert.equal((await raw(port, request('GET', '/health', { Host: tunnel, Connection: 'close' }))).status, 403, 'no tunnel yet');
      s.server.reach.tunnel_url = `https://${tunnel}`;
      try {
        for (const name of [tunnel, 'abc1234.usw2.devtunnels.ms:8585']) {
          assert.equal((await raw(port, request('GET', '/health', { Host: name, Connection: 'close' }))).status, 200, name);
        }
      } finally {
        s.server.reach.tunnel_url = null;
      }
    });

    it('X-Forwarded-Host counts only when it names the tunnel (which connects from loopback)', async () => {
      const { ticket: first } = (await s.call('POST', '/terminal/tickets')).body;
      // Without a tunnel, a forwarded host is anyone's word: a page on evil.example is not made same-origin by it.
      const forged = await upgradeStatus(`ws://127.0.0.1:${port}/terminal/ws?ticket=${first}`, {
        'X-Forwarded-Host': 'evil.example',
        Origin: 'https://evil.example',
      });
      assert.equal(forged, 403);
      const tunnel = 'abc1234-8585.usw2.devtunnels.ms';
      s.server.reach.tunnel_url = `https://${tunnel}`;
      try {
        const { ticket } = (await s.call('POST', '/terminal/tickets')).body;
        // The tunnel's other URL form: not in allowedOrigins, but the forwarded host the tunnel names.
        const viaTunnel = await upgradeStatus(`ws://127.0.0.1:${port}/terminal/ws?ticket=${ticket}`, {
          Host: `localhost:${port}`,
          'X-Forwarded-Host': 'abc1234.usw2.devtunnels.ms:8585',
          Origin: 'https://abc1234.usw2.devtunnels.ms:8585',
        });
        assert.equal(viaTunnel, 101);
        const { ticket: other } = (await s.call('POST', '/terminal/tickets')).body;
        const stillForged = await upgradeStatus(`ws://127.0.0.1:${port}/terminal/ws?ticket=${other}`, {
          'X-Forwarded-Host': 'evil.example',
          Origin: 'https://evil.example',
        });
        assert.equal(stillForged, 403);
      } finally {
        s.server.reach.tunnel_url = null;
        await Promise.all(s.server.terminal.list().map((t) => s.server.terminal.endSession(t.id)));
      }
    });
  });
});

describe('Host, on a wildcard bind', () => {
  it("accepts the machine's addresses and name, refuses other names unless allowed", () => {
    const policy = new HostPolicy({ bindHost: '0.0.0.0', allowedHosts: [], tunnelUrls: () => [] });
    const req = (host: string) => ({ headers: { host }, socket: {} }) as never;
    const addresses = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .map((a) => (a.family === 'IPv6' ? `[${a.address.split('%')[0]}]` : a.address));
    for (const address of [...addresses, hostname(), `${hostname()}:8585`]) assert.equal(policy.refusal(req(address)), undefined, address);
    assert.match(policy.refusal(req('rebind.attacker.example:8585'))!, /allowedHosts/);
    const any = new HostPolicy({ bindHost: '0.0.0.0', allowedHosts: ['*'], tunnelUrls: () => [] });
    assert.equal(any.refusal(req('vm3.corp.example')), undefined);
  });
});

describe('defaults and the startup hint', () => {
  it('on its defaults the terminal listens on command port + 1 (8586)', () => {
    const o = resolveOptions({}, {});
    assert.equal(o.port, 8585);
    assert.equal(o.terminalPort, 8586);
    assert.equal(resolveOptions({ port: 9000 }, {}).terminalPort, 9001);
    assert.equal(resolveOptions({ port: 0 }, {}).terminalPort, 0);
    assert.equal(resolveOptions({ port: 65535 }, {}).terminalPort, 0);
    assert.deepEqual(o.allowedHosts, []);
    assert.throws(() => resolveOptions({ allowedHosts: ['a b'] }, {}), /allowedHosts/);
  });

  it('the startup hint shows nothing of a short key and at most 4 characters of a long one', async () => {
    for (const key of ['abcdefghi', 'Zq9wX2vB7nM4kL0pR8tY3uI6oE1aS5dF9gH2jK7lQ0w']) {
      const cli = await spawnCli([], {}, key);
      try {
        const line = await waitForLine(cli.stderr, /API key\s+.*/);
        let longest = 0;
        // Runs of 3 or more: single letters and pairs turn up in any sentence.
        for (let i = 0; i < key.length; i++) for (let j = i + 3; j <= key.length; j++) if (line.includes(key.slice(i, j))) longest = Math.max(longest, j - i);
        assert.ok(longest <= (key.length < 24 ? 0 : 4), `${longest} characters of a ${key.length}-character key shown: ${line}`);
      } finally {
        await cli.stop();
      }
    }
  });
});

async function waitForLine(text: () => string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = pattern.exec(text());
    if (m) return m[0];
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in:\n${text()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The status a WebSocket upgrade gets: 101 when it opened, else the HTTP refusal's. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const { Host, Origin, ...rest } = headers;
    const ws = new WebSocket(url, { headers: { ...rest, ...(Host ? { Host } : {}) }, ...(Origin ? { origin: Origin } : {}) });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}
