// A fast producer (`yes`) and a client that stops reading: the PTY must pause instead of buffering,
// server memory must stay bounded, and a stalled client must not hold the others back forever.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/server/log';
import { stalledClient, openTerminal, startServer, waitUntil, type TestServer } from './helpers';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

function memory(): number {
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

const MIB = 1024 * 1024;
const HIGH_WATER = 256 * 1024;

test('a client that stops reading pauses the PTY; server memory stays bounded under `yes`', async () => {
  const srv = await server({ highWaterBytes: HIGH_WATER, stallTimeoutMs: 600_000 });
  const baseline = memory();
  const stalled = await stalledClient(srv.port, '/terminal/ws?command=yes');
  try {
    await waitUntil(
      () => srv.service.list()[0]?.paused === true,
      30_000,
      () => `never paused: ${JSON.stringify(srv.service.list())}`,
    );
    // Over several seconds of `yes` the server holds at most the high-water mark for the client, plus what the
    // kernel buffers; without backpressure this would grow by the PTY's full speed (tens of MB a second).
    let peak = 0;
    let peakUnread = 0;
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      const [info] = srv.service.list();
      assert.equal(info.paused, true, 'the PTY stays paused while the client does not read');
      peakUnread = Math.max(peakUnread, info.unreadBytes);
      peak = Math.max(peak, memory() - baseline);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(peakUnread <= HIGH_WATER + 64 * 1024, `unread output ${peakUnread} stays near the high-water mark`);
    assert.ok(peak < 48 * MIB, `server memory grew by ${(peak / MIB).toFixed(1)} MiB`);
  } finally {
    stalled.destroy();
  }
});

test('a reading client under `yes` gets a steady stream and memory stays bounded', async () => {
  const srv = await server({ highWaterBytes: HIGH_WATER });
  const baseline = memory();
  const c = await openTerminal(srv, 'command=yes');
  await c.waitFor('y\r\ny\r\n');
  let peak = 0;
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    peak = Math.max(peak, memory() - baseline);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The test process holds the client's copy of everything received, so count what it kept apart.
  const received = c.output.length;
  c.output = '';
  c.outputFrames = [];
  assert.ok(received > 1 * MIB, `received ${received} bytes of yes`);
  assert.ok(peak - 2 * received < 48 * MIB, `server memory grew by ${(peak / MIB).toFixed(1)} MiB while ${received} bytes streamed`);
  await c.close();
});

test('a stalled client is closed after stallTimeoutMs so the others go on; no one is dropped silently', async () => {
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
  const srv = await server({ highWaterBytes: HIGH_WATER, stallTimeoutMs: 1500 }, { logger });
  const reader = await openTerminal(srv, 'command=yes');
  const id = reader.sessionId!;
  const stalled = await stalledClient(srv.port, `/terminal/ws?session=${id}`);
  try {
    await waitUntil(
      () => srv.service.list()[0]?.paused === true,
      30_000,
      () => 'never paused',
    );
    await waitUntil(
      () => srv.service.list()[0]?.clients === 1,
      30_000,
      () => 'the stalled client was never closed',
    );
    // The reader gets output again once the stalled client is gone.
    const before = reader.output.length;
    await waitUntil(
      () => reader.output.length > before + 64 * 1024,
      30_000,
      () => 'output never resumed',
    );
    assert.equal(srv.service.list()[0].paused, false);
    // It cannot read a close frame (it reads nothing), so the server says so in its log.
    assert.ok(
      warnings.some((w) => /read nothing for 2 s and held the terminal paused/.test(w)),
      warnings.join('\n'),
    );
  } finally {
    stalled.destroy();
    reader.output = '';
    await reader.close();
  }
});
