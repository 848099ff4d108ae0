// Output while a job runs, by byte offset, long-polled and streamed (SSE), UTF-8-safe, and bounded.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { eventually, spawnCli, startTestServer, tempDir, type TestServer } from '../helpers/server';

describe('output', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ maxResponseOutputBytes: 1024 });
  });
  after(() => s.close());

  it('is visible while the job runs', async () => {
    const r = await s.call('POST', '/exec', { command: 'echo first; sleep 30' });
    const id = r.body.jobId;
    const seen = await eventually(async () => {
      const { body } = await s.call('GET', `/jobs/${id}`);
      return body.stdout === 'first\n' ? body : undefined;
    });
    assert.equal(seen.status, 'running');
    assert.equal(seen.processAlive, true);
    assert.equal(seen.exitCode, undefined);
    await s.call('POST', `/jobs/${id}/cancel`);
  });

  it('reads from byte offsets and long-polls for new output', async () => {
    const r = await s.call('POST', '/exec', { command: 'printf abc; read x; printf def' });
    const id = r.body.jobId;
    const first = await s.call('GET', `/jobs/${id}?stdoutFrom=0&wait=10`);
    assert.equal(first.body.stdout, 'abc');
    assert.equal(first.body.stdoutNext, 3);
    const t0 = Date.now();
    const pending = s.call('GET', `/jobs/${id}?stdoutFrom=3&stderrFrom=0&wait=20`);
    await new Promise((res) => setTimeout(res, 300));
    await s.call('POST', `/jobs/${id}/nudge`);
    const next = await pending;
    assert.ok(Date.now() - t0 >= 250, 'the long-poll waited for news');
    assert.equal(next.body.stdout.startsWith('def') || next.body.status !== 'running', true);
    const done = await s.waitJob(id);
    const tail = await s.call('GET', `/jobs/${id}?stdoutFrom=3`);
    assert.equal(tail.body.stdout, 'def');
    assert.equal(tail.body.stdoutOffset, 3);
    assert.equal(tail.body.stdoutBytes, 6);
    assert.equal(done.stdout, 'abcdef');
  });

  it('a long-poll on a quiet job returns at its deadline with nothing new', async () => {
    const r = await s.call('POST', '/exec', { command: 'sleep 30' });
    const t0 = Date.now();
    const res = await s.call('GET', `/jobs/${r.body.jobId}?wait=1`);
    assert.ok(Date.now() - t0 >= 900);
    assert.equal(res.body.status, 'running');
    await s.call('POST', `/jobs/${r.body.jobId}/cancel`);
  });

  it("never splits a UTF-8 character, even across the child's writes", async () => {
    // "€" is e2 82 ac: the first byte arrives, then the rest after a pause.
    const r = await s.call('POST', '/exec', { command: "printf 'a\\342'; read x; printf '\\202\\254b'" });
    const id = r.body.jobId;
    const mid = await eventually(async () => {
      const { body } = await s.call('GET', `/jobs/${id}?stdoutFrom=0`);
      return body.stdoutBytes === 2 ? body : undefined;
    });
    assert.equal(mid.stdout, 'a', 'the half character is held back');
    assert.equal(mid.stdoutNext, 1);
    await s.call('POST', `/jobs/${id}/nudge`);
    const job = await s.waitJob(id);
    assert.equal(job.stdout, 'a€b');
    const rest = await s.call('GET', `/jobs/${id}?stdoutFrom=${mid.stdoutNext}`);
    assert.equal(rest.body.stdout, '€b');
    const inside = await s.call('GET', `/jobs/${id}?stdoutFrom=2`);
    assert.equal(inside.body.stdout, 'b', 'an offset inside a character moves to the next one');
  });

  it('cuts an oversized response with a marker and offsets, never silently', async () => {
    const job = await s.run({ command: 'seq 1 2000' }); // 8893 bytes, over the 1 KiB limit
    assert.equal(job.stdoutBytes, 8893);
    assert.equal(job.stdoutTruncated, true);
    assert.match(job.stdout, /^\[agent-runtime: \d+ earlier bytes of stdout not shown; GET \/jobs\/\w+\?stdoutFrom=0 reads them\]\n/);
    assert.ok(job.stdout.endsWith('1999\n2000\n'));
    let text = '';
    let from = 0;
    for (let i = 0; i < 20 && from < job.stdoutBytes; i++) {
      const page = (await s.call('GET', `/jobs/${job.jobId}?stdoutFrom=${from}`)).body;
      text += page.stdout;
      from = page.stdoutNext;
    }
    assert.equal(text, Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join(''));
  });

  it('streams the job as Server-Sent Events and resumes from Last-Event-ID', async () => {
    const r = await s.call('POST', '/exec', { command: 'echo one; echo two >&2; read x; echo three; exit 3' });
    const id = r.body.jobId;
    const first = await readSse(`${s.url}/jobs/${id}/stream`, s.key, (evs) => evs.some((e) => e.event === 'stderr'));
    const stdout1 = first
      .filter((e) => e.event === 'stdout')
      .map((e) => JSON.parse(e.data).text)
      .join('');
    assert.equal(stdout1, 'one\n');
    assert.equal(JSON.parse(first[0].data).status, 'running');
    const lastId = first.at(-1)!.id;
    await s.call('POST', `/jobs/${id}/nudge`);
    const rest = await readSse(`${s.url}/jobs/${id}/stream`, s.key, (evs) => evs.some((e) => e.event === 'end'), lastId);
    const stdout2 = rest
      .filter((e) => e.event === 'stdout')
      .map((e) => JSON.parse(e.data).text)
      .join('');
    assert.equal(stdout2, 'three\n', 'resumed after what was already received');
    assert.ok(!rest.some((e) => e.event === 'stderr'), 'stderr was not sent twice');
    const end = JSON.parse(rest.find((e) => e.event === 'end')!.data);
    assert.equal(end.status, 'failed');
    assert.equal(end.exitCode, 3);
    const whole = await readSse(`${s.url}/jobs/${id}/stream`, s.key, (evs) => evs.some((e) => e.event === 'end'));
    assert.equal(
      whole
        .filter((e) => e.event === 'stdout')
        .map((e) => JSON.parse(e.data).text)
        .join(''),
      'one\nthree\n',
    );
  });
});

describe('1 GiB of output', () => {
  it("keeps the server's memory bounded and the output whole on disk", async () => {
    const stateDir = tempDir();
    const cli = await spawnCli(['--state-dir', stateDir]);
    try {
      const rssBefore = rssKiB(cli.child.pid!);
      const r = await cli.call('POST', '/exec', { command: 'head -c 1073741824 /dev/zero | tr "\\0" "x"', timeout: 600 });
      let peak = rssBefore;
      const deadline = Date.now() + 600_000;
      let job: any;
      while (Date.now() < deadline) {
        job = (await cli.call('GET', `/jobs/${r.body.jobId}?wait=1&tailLines=1`)).body;
        peak = Math.max(peak, rssKiB(cli.child.pid!));
        if (job.status !== 'running' && job.status !== 'pending') break;
      }
      assert.equal(job.status, 'completed');
      assert.equal(job.stdoutBytes, 1073741824);
      const growthMiB = (peak - rssBefore) / 1024;
      assert.ok(growthMiB < 64, `server RSS grew ${growthMiB.toFixed(1)} MiB`);
      const page = (await cli.call('GET', `/jobs/${r.body.jobId}?stdoutFrom=1073741800`)).body;
      assert.equal(page.stdout, 'x'.repeat(24));
    } finally {
      await cli.stop();
    }
  });
});

function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

interface SseEvent {
  event: string;
  id: string;
  data: string;
}

/** Reads an SSE stream until `done(events)` or the stream ends. */
export async function readSse(url: string, key: string, done: (evs: SseEvent[]) => boolean, lastEventId?: string): Promise<SseEvent[]> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { 'X-API-Key': key, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) }, signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  const timer = setTimeout(() => ac.abort(), 30_000);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let sep;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const e: SseEvent = { event: 'message', id: '', data: '' };
        let hasData = false;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('data: ')) {
            e.data += line.slice(6);
            hasData = true;
          }
        }
        if (hasData) events.push(e);
      }
      if (done(events)) break;
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}
