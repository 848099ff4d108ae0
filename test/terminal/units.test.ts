// The small pieces of the terminal: frames, sizes, UTF-8 chunking, options, tickets, origins, PTY loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { Utf8Framer, clampSize, controlFrame, parseClientFrame, sizeFromQuery } from '../../src/server/terminal/protocol';
import { TERMINAL_LIMITS, resolveTerminalOptions } from '../../src/server/terminal/options';
import { TicketStore } from '../../src/server/terminal/tickets';
import { decideUpgrade, originAllowed } from '../../src/server/terminal/access';
import { HostPolicy } from '../../src/server/http/hosts';
import { loadPtyModule } from '../../src/server/terminal/pty';
import { FlowGate, WaterMarks } from '../../src/server/terminal/backpressure';
import { findPageAssets } from '../../src/server/terminal/page';
import { terminalRoutes, type TerminalRoutesHost } from '../../src/server/terminal/routes';
import { mountRoutes } from '../../src/server/http/route-spec';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import express from 'express';

const REPO = resolve(__dirname, '../..');

test('client frames are validated, never thrown', () => {
  assert.deepEqual(parseClientFrame('{"type":"input","data":"ls\\r"}'), { ok: true, frame: { type: 'input', data: 'ls\r' } });
  assert.deepEqual(parseClientFrame('{"type":"ping"}'), { ok: true, frame: { type: 'ping' } });
  assert.deepEqual(parseClientFrame('{"type":"resize","cols":1000,"rows":1}'), { ok: true, frame: { type: 'resize', cols: 500, rows: 2 } });
  assert.deepEqual(parseClientFrame('{"type":"resize","cols":"120","rows":40.7}'), { ok: true, frame: { type: 'resize', cols: 120, rows: 40 } });
  for (const bad of [
    'not json',
    '[]',
    'null',
    '{"type":"input","data":5}',
    '{"type":"resize","cols":-1,"rows":5}',
    '{"type":"resize"}',
    '{"type":"nope"}',
    '{}',
  ]) {
    const r = parseClientFrame(bad);
    assert.equal(r.ok, false, bad);
    assert.ok(!r.ok && r.error.length > 0);
  }
});

test('sizes clamp to 10-500 columns and 2-200 rows; the query falls back to 80x24', () => {
  assert.deepEqual(clampSize(5, 1), { cols: 10, rows: 2 });
  assert.deepEqual(clampSize(501, 201), { cols: 500, rows: 200 });
  assert.deepEqual(sizeFromQuery(null, 'x'), { cols: 80, rows: 24 });
  assert.deepEqual(sizeFromQuery('132', '43'), { cols: 132, rows: 43 });
});

test('control frames are NUL followed by JSON', () => {
  assert.equal(controlFrame({ type: 'pong' }), '\u0000{"type":"pong"}');
});

test('UTF-8 output is never cut inside a character, whatever the reads look like', () => {
  const text = 'a€b😀c日本\u00e9ě';
  const bytes = Buffer.from(text, 'utf8');
  for (let size = 1; size <= 5; size++) {
    const framer = new Utf8Framer();
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) pieces.push(framer.push(bytes.subarray(i, i + size)));
    pieces.push(framer.end());
    for (const p of pieces) assert.ok(isUtf8(p), `chunk size ${size}: ${p.toString('hex')} is not whole UTF-8`);
    assert.equal(Buffer.concat(pieces).toString('utf8'), text);
  }
  // Bytes that are not UTF-8 at all become U+FFFD; the frame stays valid.
  const binary = new Utf8Framer().push(Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x80]));
  assert.ok(isUtf8(binary));
  assert.equal(binary.toString('utf8'), 'a\ufffd\ufffdb\ufffd');
  // An incomplete character at the very end becomes U+FFFD rather than vanishing.
  const tail = new Utf8Framer();
  assert.equal(tail.push(Buffer.from([0x61, 0xe2, 0x82])).toString(), 'a');
  assert.equal(tail.end().toString(), '\ufffd');
  // A host module that hands out strings is accepted too.
  assert.equal(new Utf8Framer().push('x€').toString(), 'x€');
});

test('options take their defaults and refuse values out of bounds', () => {
  const o = resolveTerminalOptions();
  assert.equal(o.maxSessions, 2);
  assert.equal(o.idleTimeoutMs, 15 * 60_000);
  assert.equal(o.maxLifetimeMs, 60 * 60_000);
  assert.equal(o.reconnectGraceMs, 5 * 60_000);
  assert.equal(o.maxMessageBytes, 64 * 1024);
  assert.ok(o.lowWaterBytes < o.highWaterBytes);
  for (const [name, bound] of Object.entries(TERMINAL_LIMITS)) {
    assert.throws(() => resolveTerminalOptions({ [name]: bound.max + 1 }), new RegExp(name));
    if (bound.min > 0) assert.throws(() => resolveTerminalOptions({ [name]: bound.min - 1 }), new RegExp(name));
    assert.throws(() => resolveTerminalOptions({ [name]: 1.5 }), new RegExp(name));
  }
  assert.throws(() => resolveTerminalOptions({ highWaterBytes: 65536, lowWaterBytes: 65536 }), /lowWaterBytes/);
  assert.equal(resolveTerminalOptions({ highWaterBytes: 65536 }).lowWaterBytes, 16384);
  assert.throws(() => resolveTerminalOptions({ shell: '' }), /shell/);
});

test('tickets work once, expire, and are capped', () => {
  let now = 1_000_000;
  const store = new TicketStore(30_000, 2, () => now);
  const a = store.issue()!;
  const b = store.issue()!;
  assert.notEqual(a.ticket, b.ticket);
  assert.ok(a.ticket.length >= 43, 'at least 256 bits');
  assert.equal(store.issue(), undefined, 'cap reached');
  assert.equal(store.consume(a.ticket), true);
  assert.equal(store.consume(a.ticket), false, 'single use');
  assert.equal(store.consume('made-up'), false);
  now += 30_000;
  assert.equal(store.consume(b.ticket), false, 'expired');
  assert.equal(store.size, 0);
  assert.ok(store.issue());
});

function request(headers: Record<string, string>): IncomingMessage {
  return { headers, socket: {} } as unknown as IncomingMessage;
}

test('only the server itself, a proxy forwarding to it, or an allowed origin may connect from a browser', () => {
  const host = { host: '127.0.0.1:8585' };
  assert.equal(originAllowed('http://127.0.0.1:8585', request(host), []), true);
  assert.equal(originAllowed('http://127.0.0.1:8586', request(host), []), false);
  assert.equal(originAllowed('https://evil.example', request(host), []), false);
  assert.equal(originAllowed('null', request(host), []), false);
  assert.equal(
    originAllowed('https://abc-8585.devtunnels.ms', request({ host: 'localhost:8585' }), [], 'abc-8585.devtunnels.ms'),
    true,
    "the tunnel's forwarded host",
  );
  assert.equal(originAllowed('https://abc-8585.devtunnels.ms', request({ host: 'abc-8585.devtunnels.ms' }), []), true);
  assert.equal(originAllowed('http://abc.example:8080', request({ host: 'abc.example' }), []), false);
  assert.equal(originAllowed('https://dash.example', request(host), ['https://dash.example/']), true);
  assert.equal(originAllowed('https://dash.example:444', request(host), ['https://dash.example']), false);
  assert.equal(originAllowed('https://abc-8586.devtunnels.ms', request(host), ['wss://abc-8586.devtunnels.ms']), true);
});

test('an upgrade needs the key or a live ticket, and a foreign origin is refused even with the key', () => {
  const tickets = new TicketStore(30_000, 10);
  const hosts = new HostPolicy({ bindHost: '127.0.0.1', allowedHosts: ['h'], tunnelUrls: () => [] });
  const policy = { checkKey: (k: string | undefined) => k === 'k', tickets, allowedOrigins: () => [], hosts };
  const q = (s = '') => new URLSearchParams(s);
  assert.deepEqual(decideUpgrade(request({ host: 'h' }), q(), policy), { ok: false, status: 401, error: 'invalid or missing API key' });
  assert.equal(decideUpgrade(request({ host: 'h', 'x-api-key': 'wrong' }), q(), policy).ok, false);
  assert.deepEqual(decideUpgrade(request({ host: 'h', 'x-api-key': 'k' }), q(), policy), { ok: true, via: 'key' });
  const { ticket } = tickets.issue()!;
  assert.deepEqual(decideUpgrade(request({ host: 'h' }), q(`ticket=${ticket}`), policy), { ok: true, via: 'ticket' });
  assert.equal(decideUpgrade(request({ host: 'h' }), q(`ticket=${ticket}`), policy).ok, false, 'a ticket works once');
  const foreign = decideUpgrade(request({ host: 'h', origin: 'https://evil.example', 'x-api-key': 'k' }), q(), policy);
  assert.equal(!foreign.ok && foreign.status, 403);
});

test('node-pty: the host module comes first, @lydell/node-pty is the fallback, false turns terminals off', () => {
  const fake = {
    spawn: () => {
      throw new Error('unused');
    },
  };
  const injected = loadPtyModule(fake);
  assert.ok(injected.ok && injected.module === fake && injected.from === 'host');
  const fallback = loadPtyModule(() => {
    throw new Error('Cannot find module node-pty');
  });
  assert.ok(fallback.ok && fallback.from === '@lydell/node-pty');
  assert.ok(loadPtyModule().ok);
  const off = loadPtyModule(false);
  assert.ok(!off.ok && /turned off/.test(off.reason));
});

test('the flow gate pauses while anyone holds it; water marks have hysteresis', () => {
  const calls: string[] = [];
  const gate = new FlowGate(
    () => calls.push('pause'),
    () => calls.push('resume'),
  );
  gate.hold('a');
  gate.hold('b');
  gate.hold('a');
  gate.release('a');
  assert.equal(gate.paused, true);
  gate.release('b');
  gate.release('b');
  assert.deepEqual(calls, ['pause', 'resume']);
  const marks = new WaterMarks(100, 10);
  assert.equal(marks.update(100), undefined);
  assert.equal(marks.update(101), true);
  assert.equal(marks.update(50), undefined);
  assert.equal(marks.update(10), false);
  assert.equal(marks.update(50), undefined);
});

test('the page and its assets are served from an install under a hidden folder (~/.vscode/extensions/…)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ar-hidden-'));
  const install = join(root, '.vscode', 'extensions', 'agent-runtime');
  try {
    for (const dir of ['media', 'dist/media']) cpSync(join(REPO, dir), join(install, dir), { recursive: true });
    const assets = findPageAssets(join(install, 'dist'));
    assert.ok(assets, 'the copied page is found');
    const app = express().use(mountRoutes(express.Router(), terminalRoutes(pageOnlyHost, assets)));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const page = await fetch(`${base}/terminal`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      for (const name of assets.files.keys()) assert.equal((await fetch(`${base}/terminal/assets/${name}`)).status, 200, name);
    } finally {
      server.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const pageOnlyHost: TerminalRoutesHost = {
  supported: () => true,
  unsupportedReason: () => undefined,
  issueTicket: () => undefined,
  ticketTtlMs: () => 0,
  list: () => [],
  maxSessions: () => 0,
  endSession: async () => false,
};
