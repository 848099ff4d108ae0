// The standing guard of the job streams (CONTRACT §8: no client can hurt the server or the others): a client
// that never reads, one that reads as fast as it can, and one that joins late to a long history, each
// against the real CLI in its own process, so that its RSS is the server's own and its latency is felt by
// a `/health` asked from here. The fast readers run in processes of their own (stream-client.mjs).
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, spawnCli, tempDir, type Api } from '../helpers/server';
import { neverReader, rssKiB, sleep, slowestAnswer, streamClient } from '../helpers/streams';

const MIB = 1024;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function started(api: Api, command: string, timeout = 120): Promise<string> {
  const r = await api.call('POST', '/exec', { command, timeout });
  assert.equal(r.status, 202);
  const id = r.body.jobId;
  await eventually(async () => (await api.call('GET', `/jobs/${id}?tailLines=1`)).body.stdoutBytes > 0, 20_000, 'output');
  return id;
}

describe('job SSE stream: a client that never reads', () => {
  it("holds a bounded buffer: ten never-readers on `yes` leave the server's RSS within bounds, during and after", async (t: TestContext) => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    try {
      const id = await started(cli, 'yes');
      await sleep(500);
      const before = rssKiB(cli.child.pid!);
      const sockets = await Promise.all(Array.from({ length: 10 }, () => neverReader(cli.url, `/jobs/${id}/stream`, cli.key)));
      let peak = before;
      const until = Date.now() + 8000;
      while (Date.now() < until) {
        peak = Math.max(peak, rssKiB(cli.child.pid!));
        await sleep(200);
      }
      for (const s of sockets) s.destroy();
      await cli.call('POST', `/jobs/${id}/cancel`);
      await sleep(1000);
      const after = rssKiB(cli.child.pid!);
      const health = await cli.call('GET', '/health');
      assert.equal(health.status, 200);
      // Each never-reader may hold one chunk (64 KiB of text) beyond what the kernel buffers; without the
      // producer waiting, every change of the job wrote one more, hundreds of MiB in these seconds.
      t.diagnostic(`RSS growth: peak ${((peak - before) / MIB).toFixed(1)} MiB, after ${((after - before) / MIB).toFixed(1)} MiB`);
      assert.ok(peak - before < 150 * MIB, `server RSS grew ${((peak - before) / MIB).toFixed(1)} MiB while never-readers sat on \`yes\``);
      assert.ok(after - before < 150 * MIB, `server RSS stayed ${((after - before) / MIB).toFixed(1)} MiB up after they left`);
      assert.doesNotMatch(cli.stderr(), /MaxListenersExceeded/, 'one drain listener per stream at a time');
    } finally {
      await cli.stop();
    }
  });
});

describe('long-poll: clients that never read', () => {
  it('hold bounded answers: ten never-readers pipelining twenty polls each on `yes` leave RSS within bounds', async (t: TestContext) => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    try {
      const id = await started(cli, 'yes');
      await sleep(500);
      const before = rssKiB(cli.child.pid!);
      const sockets = await Promise.all(Array.from({ length: 10 }, () => neverReader(cli.url, `/jobs/${id}?stdoutFrom=0&wait=1`, cli.key, 20)));
      let peak = before;
      const until = Date.now() + 6000;
      while (Date.now() < until) {
        peak = Math.max(peak, rssKiB(cli.child.pid!));
        await sleep(200);
      }
      for (const s of sockets) s.destroy();
      await cli.call('POST', `/jobs/${id}/cancel`);
      t.diagnostic(`RSS growth: peak ${((peak - before) / MIB).toFixed(1)} MiB`);
      // An answer carries at most maxResponseOutputBytes (1 MiB) per stream; the server reads the next
      // pipelined request only once the answer before it has gone out.
      assert.ok(peak - before < 150 * MIB, `server RSS grew ${((peak - before) / MIB).toFixed(1)} MiB while never-readers polled \`yes\``);
    } finally {
      await cli.stop();
    }
  });
});

describe('job SSE stream: a client that reads as fast as it can', () => {
  it("gets all of a fast job's output while /health and the job answer within a second", async (t: TestContext) => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    try {
      const total = 1024 * 1024 * 1024;
      const id = await started(cli, `yes | head -c ${total}`);
      // curl: a reader faster than any in Node; the test checks the end of what it got.
      const file = join(tempDir(), 'stream-tail.txt');
      const curl = `curl -sSN --max-time 180 -H "X-API-Key: ${cli.key}" "${cli.url}/jobs/${id}/stream" | tail -c 262144 > "${file}"`;
      const reader = new Promise<void>((resolve, reject) => execFile('sh', ['-c', curl], (err) => (err ? reject(err) : resolve())));
      const slowest = await slowestAnswer(cli, reader, ['/health', `/jobs/${id}`]);
      await reader;
      const tail = readFileSync(file, 'utf8');
      t.diagnostic(`slowest answer ${slowest.toFixed(0)} ms`);
      assert.match(tail, /event: end\n/, 'the stream reached its end');
      const ids = [...tail.matchAll(/^event: stdout\nid: (\d+)\./gm)];
      assert.equal(Number(ids.at(-1)?.[1]), total, 'the last stdout event is at the end of the output');
      assert.ok(slowest < 1000, `/health or GET /jobs/{id} took ${slowest.toFixed(0)} ms while a fast reader streamed a fast job`);
    } finally {
      await cli.stop();
    }
  });
});

describe('job SSE stream: a client that joins late to a long history', () => {
  it('replays 100,000 ACP events and 60 MB of output, all in order, while /health answers within a second', async (t: TestContext) => {
    const stateDir = tempDir();
    let cli = await spawnCli(['--state-dir', stateDir]);
    let id: string;
    const lines = 8_000_000;
    const events = 100_000;
    try {
      const r = await cli.call('POST', '/exec', { command: `seq 1 ${lines}` });
      id = r.body.jobId;
      assert.equal((await cli.waitJob(id)).status, 'completed');
    } finally {
      await cli.stop();
    }
    // The history as an ACP agent would have left it, written through the job's event log format (an agent
    // sending 100,000 updates takes minutes here); the server reads it at its next start.
    let text = '';
    for (let seq = 0; seq < events; seq++) {
      const data = { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: `chunk ${seq} `.padEnd(120, '.') } };
      text += `${JSON.stringify({ seq, type: 'session_update', timestamp: 1_700_000_000 + seq / 1000, data })}\n`;
    }
    appendFileSync(join(stateDir, 'jobs', id, 'events.jsonl'), text);
    cli = await spawnCli(['--state-dir', stateDir]);
    try {
      assert.equal((await cli.call('GET', `/jobs/${id}`)).body.eventCount, events);
      const reader = streamClient(['sse', `${cli.url}/jobs/${id}/stream`, cli.key, 'lines']);
      const slowest = await slowestAnswer(cli, reader);
      const got = await reader;
      t.diagnostic(`replayed ${got.stdoutBytes} bytes and ${got.events} events in ${got.ms} ms; slowest /health ${slowest.toFixed(0)} ms`);
      assert.equal(got.ended, true);
      assert.equal(got.stdoutContiguous, true);
      assert.equal(got.lines, lines);
      assert.equal(got.linesInOrder, true);
      assert.equal(got.events, events);
      assert.equal(got.eventsInOrder, true);
      assert.ok(slowest < 1000, `/health took ${slowest.toFixed(0)} ms while a late client replayed the history`);
      // Resuming deep in the history (Last-Event-ID) sends exactly what follows it.
      const res = await fetch(`${cli.url}/jobs/${id}/stream`, { headers: { 'X-API-Key': cli.key, 'Last-Event-ID': `${got.stdoutBytes}.0.99990` } });
      const resumed = await res.text();
      assert.deepEqual(
        [...resumed.matchAll(/^data: \{"seq":(\d+),/gm)].map((m) => Number(m[1])),
        range(99990, events),
      );
      assert.match(resumed, /^event: end$/m);
      assert.doesNotMatch(resumed, /^event: stdout$/m);
    } finally {
      await cli.stop();
    }
  });
});
