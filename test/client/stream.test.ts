// `client.stream()` against the real server through a proxy that cuts the connection mid-stream: the
// client resumes with Last-Event-ID and the events it yields, put together, are the job exactly, with no
// event lost or repeated.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentRuntimeClient, AgentRuntimeError, StreamDroppedError, type JobStreamEvent } from '../../src/client';
import { startTestServer, type TestServer } from '../helpers/server';
import { startCutProxy, type CutProxy } from './cut-proxy';

let s: TestServer;
let proxy: CutProxy;
let client: AgentRuntimeClient;
before(async () => {
  s = await startTestServer();
  proxy = await startCutProxy(s.url);
  client = new AgentRuntimeClient({ url: proxy.url, key: s.key });
});
after(async () => {
  await proxy.close();
  await s.close();
});

const cursorOf = (id: string) => id.split('.').map(Number);

/** Every event of the stream, checking as it goes that the cursors only move forward. */
async function collect(events: AsyncIterable<JobStreamEvent>): Promise<{ stdout: string; stderr: string; all: JobStreamEvent[] }> {
  let stdout = '';
  let stderr = '';
  const all: JobStreamEvent[] = [];
  let last = [0, 0, 0];
  for await (const e of events) {
    all.push(e);
    const c = cursorOf(e.id);
    assert.ok(
      c.every((v, i) => v >= last[i]),
      `cursor went back: ${last} -> ${c}`,
    );
    if (e.event === 'stdout') {
      assert.equal(e.data.offset, Buffer.byteLength(stdout), 'a stdout chunk starts where the last one ended');
      stdout += e.data.text;
    } else if (e.event === 'stderr') {
      assert.equal(e.data.offset, Buffer.byteLength(stderr));
      stderr += e.data.text;
    }
    last = c;
  }
  return { stdout, stderr, all };
}

describe('client.stream', () => {
  it('streams a job to its end event', async () => {
    const { jobId } = await client.exec({ command: 'echo out; echo err >&2' });
    const { stdout, stderr, all } = await collect(client.stream(jobId));
    assert.equal(stdout, 'out\n');
    assert.equal(stderr, 'err\n');
    const end = all.at(-1)!;
    assert.equal(end.event, 'end');
    assert.equal(end.event === 'end' && end.data.status, 'completed');
    assert.deepEqual(
      all.filter((e) => e.event === 'status').map((e) => e.event === 'status' && e.data.status),
      [...new Set(all.filter((e) => e.event === 'status').map((e) => e.event === 'status' && e.data.status))],
    );
  });

  it('resumes after connections cut mid-event: nothing lost, nothing repeated', async () => {
    // About 1.2 MB of stdout and some stderr, streamed through connections cut every 150 KB.
    const job = await s.run({ command: 'seq 1 180000; seq 1 2000 >&2' });
    assert.equal(job.status, 'completed');
    const expectedOut = Array.from({ length: 180000 }, (_, i) => `${i + 1}\n`).join('');
    const expectedErr = Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join('');
    const before = proxy.connections();
    proxy.cutAfter(150_000);
    try {
      const { stdout, stderr, all } = await collect(client.stream(job.jobId, { reconnect: { delayMs: 10 } }));
      assert.equal(stdout.length, expectedOut.length);
      assert.equal(stdout, expectedOut);
      assert.equal(stderr, expectedErr);
      assert.equal(all.filter((e) => e.event === 'end').length, 1);
      assert.equal(all.filter((e) => e.event === 'status').length, 1, 'the status the server sends again on each reconnect is not repeated');
      assert.ok(proxy.connections() - before >= 8, `the stream was cut and resumed (${proxy.connections() - before} connections)`);
    } finally {
      proxy.cutAfter(0);
    }
  });

  it('resumes a live job cut while it runs, and after a given lastEventId', async () => {
    const { jobId } = await client.exec({ command: 'for i in $(seq 1 40); do echo line $i; sleep 0.05; done' });
    let stdout = '';
    let cuts = 0;
    let mid: { id: string; length: number } | undefined;
    for await (const e of client.stream(jobId, { reconnect: { delayMs: 10 } })) {
      if (e.event === 'stdout') {
        stdout += e.data.text;
        if (cuts < 3 && stdout.includes(`line ${10 * (cuts + 1)}\n`)) {
          cuts++;
          proxy.cutAll();
        }
        if (!mid && stdout.includes('line 20\n')) mid = { id: e.id, length: stdout.length };
      }
    }
    assert.equal(cuts, 3);
    assert.equal(stdout, Array.from({ length: 40 }, (_, i) => `line ${i + 1}\n`).join(''));

    // A new stream from a cursor taken halfway gives exactly the rest.
    let rest = '';
    for await (const e of client.stream(jobId, { lastEventId: mid!.id })) if (e.event === 'stdout') rest += e.data.text;
    assert.equal(rest, stdout.slice(mid!.length));
    assert.ok(rest.length > 0 && rest.length < stdout.length);
  });

  it('gives up with StreamDroppedError when the server stays away, and stops on abort', async () => {
    const { jobId } = await client.exec({ command: 'sleep 30' });
    const gone = new AgentRuntimeClient({ url: 'http://127.0.0.1:1', key: s.key });
    await assert.rejects(async () => {
      for await (const _ of gone.stream(jobId, { reconnect: { attempts: 2, delayMs: 10 } })) void _;
    }, StreamDroppedError);

    const ac = new AbortController();
    const seen: string[] = [];
    const started = Date.now();
    await assert.rejects(async () => {
      for await (const e of client.stream(jobId, { signal: ac.signal })) {
        seen.push(e.event);
        setTimeout(() => ac.abort(new Error('enough')), 100);
      }
    }, /enough/);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(seen, ['status']);
    await client.cancel(jobId);
  });

  it('a refusal is not retried: a job that does not exist is a 404 AgentRuntimeError at once', async () => {
    let requests = 0;
    const counting = new AgentRuntimeClient({ url: s.url, key: s.key, fetch: (input, init) => (requests++, fetch(input, init)) });
    await assert.rejects(
      async () => {
        for await (const _ of counting.stream('nope')) void _;
      },
      (err: unknown) => err instanceof AgentRuntimeError && err.status === 404 && err.body.error === 'job not found',
    );
    assert.equal(requests, 1);
  });
});
