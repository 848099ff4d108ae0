// The standing guard of the terminal WebSocket (CONTRACT §8), as for the job streams (test/core/streams.test.ts):
// clients that never read, one that reads as fast as it can, and one that joins late to a session with a
// long history, against the real CLI in its own process (its RSS is the server's own).
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli, tempDir, type CliProcess } from '../helpers/server';
import { rssKiB, sleep, slowestAnswer, streamClient } from '../helpers/streams';
import { KEY, TermClient, stalledClient } from './helpers';

const MIB = 1024;

async function cliWithTerminal(): Promise<CliProcess> {
  return spawnCli(['--state-dir', tempDir(), '--terminal-port=-1'], {}, KEY);
}

const wsUrl = (cli: CliProcess, query: string) => `${cli.url.replace(/^http/, 'ws')}/terminal/ws?${query}`;

/** Opens a session running `command`, waits for `text` in its output, and drops the connection (the session stays). */
async function sessionThatPrinted(cli: CliProcess, command: string, text: string): Promise<string> {
  const c = new TermClient(wsUrl(cli, `command=${encodeURIComponent(command)}`));
  await c.opened;
  await c.waitFor(text, 60_000);
  const id = c.sessionId!;
  c.output = '';
  await c.drop();
  return id;
}

describe('terminal WebSocket: clients that never read', () => {
  it("keep the server's RSS within bounds on `yes`, during and after", async (t: TestContext) => {
    const cli = await cliWithTerminal();
    try {
      const id = await sessionThatPrinted(cli, 'yes', 'y\r\ny\r\n');
      await sleep(500);
      const before = rssKiB(cli.child.pid!);
      const port = Number(new URL(cli.url).port);
      const stalled = await Promise.all(Array.from({ length: 8 }, () => stalledClient(port, `/terminal/ws?session=${id}`)));
      let peak = before;
      let peakUnread = 0;
      const until = Date.now() + 8000;
      while (Date.now() < until) {
        peak = Math.max(peak, rssKiB(cli.child.pid!));
        const [session] = (await cli.call('GET', '/terminals')).body.terminals;
        assert.equal(session.clients, stalled.length);
        peakUnread = Math.max(peakUnread, session.unreadBytes);
        await sleep(200);
      }
      assert.equal((await cli.call('GET', '/terminals')).body.terminals[0].paused, true, 'the PTY is paused while nobody reads');
      // What the server holds for its clients (each counts the frames it shares with the others): at most the
      // high-water mark (1 MiB) and a frame or two more apiece. Memory alone would not tell: the frames are shared
      // and the screen drops a flood of plain lines, so even without the pause RSS grows only slowly.
      assert.ok(peakUnread <= stalled.length * (1024 + 256) * 1024, `the never-readers had ${peakUnread} bytes unread`);
      for (const s of stalled) s.destroy();
      await sleep(1000);
      const after = rssKiB(cli.child.pid!);
      assert.equal((await cli.call('GET', '/health')).status, 200);
      t.diagnostic(
        `RSS growth: peak ${((peak - before) / MIB).toFixed(1)} MiB, after ${((after - before) / MIB).toFixed(1)} MiB; unread at most ${peakUnread} bytes`,
      );
      assert.ok(peak - before < 150 * MIB, `server RSS grew ${((peak - before) / MIB).toFixed(1)} MiB while never-readers sat on \`yes\``);
      assert.ok(after - before < 150 * MIB, `server RSS stayed ${((after - before) / MIB).toFixed(1)} MiB up after they left`);
    } finally {
      await cli.stop();
    }
  });
});

describe('terminal WebSocket: a client that reads as fast as it can', () => {
  it('streams `yes` while /health answers within a second', async (t: TestContext) => {
    const cli = await cliWithTerminal();
    try {
      const reader = streamClient(['ws', wsUrl(cli, 'command=yes'), KEY, '6']);
      const slowest = await slowestAnswer(cli, reader, ['/health', '/terminals']);
      const got = await reader;
      t.diagnostic(`read ${got.bytes} bytes; slowest answer ${slowest.toFixed(0)} ms`);
      assert.ok(got.bytes > 1024 * 1024, `the reader got ${got.bytes} bytes of \`yes\``);
      assert.ok(slowest < 1000, `/health or GET /terminals took ${slowest.toFixed(0)} ms while a fast reader read \`yes\``);
    } finally {
      await cli.stop();
    }
  });
});

describe('terminal WebSocket: a client that joins late to a long history', () => {
  it("gets the session's screen and scrollback ending with the last line, while /health answers within a second", async (t: TestContext) => {
    const cli = await cliWithTerminal();
    try {
      const id = await sessionThatPrinted(cli, 'seq 1 400000', '\r\n400000\r\n');
      const reader = streamClient(['ws-until', wsUrl(cli, `session=${id}`), KEY, '\r\n400000\r\n']);
      const slowest = await slowestAnswer(cli, reader);
      const got = await reader;
      t.diagnostic(`replay of ${got.bytes} bytes; slowest /health ${slowest.toFixed(0)} ms`);
      assert.equal(got.found, true, 'the replay ends with the last line printed');
      assert.ok(slowest < 1000, `/health took ${slowest.toFixed(0)} ms while a late client joined`);
    } finally {
      await cli.stop();
    }
  });
});
