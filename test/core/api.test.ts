// The command API over real HTTP: seed-compatible routes, statuses and field names, and auth.
// Calls go through the typed client (s.client, src/client) where they fit; what checks the wire itself
// (status codes, headers, the seed's exact shapes, requests without the key) stays raw fetch on purpose.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentRuntimeError } from '../../src/client';
import { eventually, startTestServer, tempDir, type TestServer } from '../helpers/server';

describe('command API', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it('GET /health is minimal without a key and full with it', async () => {
    const anon = await fetch(`${s.url}/health`).then((r) => r.json());
    assert.deepEqual(anon, { status: 'ok', authenticated: false });
    const wrong = await fetch(`${s.url}/health`, { headers: { 'X-API-Key': 'nope' } }).then((r) => r.json());
    assert.deepEqual(wrong, { status: 'ok', authenticated: false });
    const body = await s.client.health();
    for (const k of [
      'status',
      'version',
      'hostname',
      'jobs',
      'cwd',
      'authenticated',
      'terminal_supported',
      'terminal_sessions',
      'acp_supported',
      'execution_modes',
      'persistent_shell_supported',
      'persistent_shell_shells',
      'persistent_shell_default_shell',
      'persistent_shell_sessions',
      'persistent_shell_max_sessions',
      'persistent_shell_idle_timeout_seconds',
      'tunnel_url',
      'terminal_url',
      'registration',
      'pid',
      'uptime_s',
    ])
      assert.ok(k in body, `health lacks ${k}`);
    assert.equal(body.authenticated, true);
    assert.equal(body.pid, process.pid);
    assert.ok(body.execution_modes?.includes('shell'));
  });

  it('refuses every other route without the right key', async () => {
    for (const [method, path] of [
      ['POST', '/exec'],
      ['GET', '/jobs'],
      ['GET', '/jobs/x'],
      ['POST', '/jobs/x/nudge'],
      ['POST', '/update'],
      ['GET', '/openapi.json'],
      ['GET', '/nope'],
    ]) {
      for (const headers of [{}, { 'X-API-Key': 'wrong' }, { 'X-API-Key': `${s.key}x` }] as Record<string, string>[]) {
        const r = await fetch(s.url + path, { method, headers });
        assert.equal(r.status, 401, `${method} ${path}`);
        assert.deepEqual(await r.json(), { error: 'invalid or missing API key' });
      }
    }
  });

  it('runs a shell job: 202 pending, then completed with the seed fields', async () => {
    // Raw: the seed's clients read this exact answer (202, jobId, status).
    const r = await s.call('POST', '/exec', { command: 'echo out; echo err >&2' });
    assert.equal(r.status, 202);
    assert.equal(r.body.status, 'pending');
    assert.match(r.body.jobId, /^[0-9a-f]{12}$/);
    const job = await s.client.wait(r.body.jobId);
    assert.equal(job.status, 'completed');
    assert.equal(job.exitCode, 0);
    assert.equal(job.stdout, 'out\n');
    assert.equal(job.stderr, 'err\n');
    assert.equal(job.timedOut, false);
    assert.equal(job.endReason, 'exit');
    assert.equal(job.processAlive, false);
    assert.equal(job.command, 'echo out; echo err >&2');
    assert.equal(typeof job.submittedAt, 'number');
    assert.equal(typeof job.lastOutputAt, 'number');
    assert.equal(typeof job.durationMs, 'number');
    assert.equal(job.stdoutBytes, 4);
    assert.equal(job.stderrBytes, 4);
  });

  it('a non-zero exit is failed with its exit code (as the seed)', async () => {
    const job = await s.client.run({ command: 'exit 7' });
    assert.equal(job.status, 'failed');
    assert.equal(job.exitCode, 7);
    assert.equal(job.endReason, 'exit');
  });

  it('honours workdir and env, and does not hand the API key to jobs', async () => {
    const dir = tempDir('ar-wd-');
    writeFileSync(join(dir, 'marker.txt'), 'here');
    process.env.AGENT_RUNTIME_API_KEY = 'leaked?';
    try {
      const job = await s.client.run({ command: 'cat marker.txt; echo " $FOO ${AGENT_RUNTIME_API_KEY:-none}"', workdir: dir, env: { FOO: 'bar baz' } });
      assert.equal(job.stdout, 'here bar baz none\n');
      assert.equal(job.workdir, dir);
    } finally {
      delete process.env.AGENT_RUNTIME_API_KEY;
    }
  });

  it('GET /jobs lists the 20 most recent, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 22; i++) ids.push((await s.client.exec({ command: `echo ${i}` })).jobId);
    for (const id of ids) await s.client.wait(id);
    const body = await s.client.jobs();
    assert.ok(Array.isArray(body));
    assert.equal(body.length, 20);
    assert.deepEqual(
      body.map((j) => j.jobId),
      ids.slice(-20).reverse(),
    );
    assert.equal(body[0].stdout, '21\n');
  });

  it('tailLines returns the last lines only', async () => {
    const job = await s.client.run({ command: 'seq 1 100' });
    const body = await s.client.job(job.jobId, { tailLines: 3 });
    assert.equal(body.stdout, '98\n99\n100\n');
    assert.equal(body.stdoutTruncated, true);
  });

  it('answers 404 for unknown jobs and routes', async () => {
    // Raw: the status and the exact error body are the point.
    for (const [m, p] of [
      ['GET', '/jobs/000000000000'],
      ['POST', '/jobs/000000000000/nudge'],
      ['POST', '/jobs/000000000000/cancel'],
      ['GET', '/jobs/000000000000/stream'],
    ]) {
      const r = await s.call(m, p);
      assert.equal(r.status, 404, p);
      assert.deepEqual(r.body, { error: 'job not found' });
    }
    const r = await s.call('GET', '/no/such/route');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: 'not found' });
  });

  it('nudge writes a newline to stdin; input writes data and EOF', async () => {
    const id = (await s.client.exec({ command: 'read a; echo "got [$a]"; cat' })).jobId;
    assert.deepEqual(await s.client.nudge(id), { nudged: true, processAlive: true });
    assert.deepEqual(await s.client.input(id, 'héllo\n', { eof: true }), { written: 7, eof: true });
    const job = await s.client.wait(id);
    assert.equal(job.stdout, 'got []\nhéllo\n');
    assert.deepEqual(await s.client.nudge(id), { nudged: false, reason: 'process not running', processAlive: false });
    const lateInput = await s.client.input(id, 'x').catch((e: unknown) => e);
    assert.ok(lateInput instanceof AgentRuntimeError);
    assert.equal(lateInput.status, 409);
    assert.equal(lateInput.body.error, 'process not running');
  });

  it('input to a job that closed its stdin is refused (409), not dropped silently', async () => {
    const id = (await s.client.exec({ command: 'exec 0<&-; echo closed; sleep 30' })).jobId;
    try {
      await eventually(async () => (await s.client.job(id)).stdout === 'closed\n');
      // The first write is where the pipe tells that nobody reads it any more; from then on, input is refused.
      const refused = await eventually(async () => {
        const input = await s.client.input(id, 'lost?\n').catch((e: unknown) => e);
        return input instanceof AgentRuntimeError && input.status === 409 ? input : undefined;
      });
      assert.equal(refused!.body.error, 'stdin is closed');
      assert.equal(refused!.body.processAlive, true);
    } finally {
      await s.client.cancel(id);
    }
  });

  it('POST /update is refused with 409 while a job runs, then answers once idle', async () => {
    const { jobId } = await s.client.exec({ command: 'sleep 30' });
    const busy = await s.client.update().catch((e: unknown) => e);
    assert.ok(busy instanceof AgentRuntimeError);
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error, 'cannot update while jobs are running');
    assert.equal(busy.body.running_jobs, 1);
    await s.client.cancel(jobId);
    // Raw: 200 (not 202, draining) is the answer the seed's clients expect once idle.
    const idle = await s.call('POST', '/update');
    assert.equal(idle.status, 200);
    assert.equal(idle.body.version, (await s.client.health()).version);
  });

  it('Idempotency-Key returns the job already started instead of a second one', async () => {
    // Raw: the replay header and the 422 are the wire's.
    const body = { command: 'echo once >> counter.txt; cat counter.txt', workdir: tempDir('ar-idem-') };
    const first = await s.call('POST', '/exec', body, { 'Idempotency-Key': 'k-1' });
    const again = await s.call('POST', '/exec', body, { 'Idempotency-Key': 'k-1' });
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.body.jobId, first.body.jobId);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const job = await s.client.wait(first.body.jobId);
    assert.equal(job.stdout, 'once\n');
    const other = await s.call('POST', '/exec', { ...body, command: 'true' }, { 'Idempotency-Key': 'k-1' });
    assert.equal(other.status, 422);
    assert.equal(other.body.jobId, first.body.jobId);
    const fresh = await s.call('POST', '/exec', body, { 'Idempotency-Key': 'k-2' });
    assert.notEqual(fresh.body.jobId, first.body.jobId);
    await s.client.wait(fresh.body.jobId);
  });

  it('serves many concurrent clients without errors', async () => {
    const clients = Array.from({ length: 8 }, async (_, c) => {
      const out: string[] = [];
      for (let i = 0; i < 10; i++) out.push((await s.client.run({ command: `echo ${c}-${i}` })).stdout);
      return out;
    });
    const results = await Promise.all(clients);
    results.forEach((out, c) =>
      assert.deepEqual(
        out,
        Array.from({ length: 10 }, (_, i) => `${c}-${i}\n`),
      ),
    );
  });
});

describe('concurrency limit', () => {
  it('jobs past maxConcurrentJobs wait as pending, then run', async () => {
    const s = await startTestServer({ maxConcurrentJobs: 1 });
    try {
      const a = await s.client.exec({ command: 'sleep 1; echo a' });
      const b = await s.client.exec({ command: 'echo b' });
      const bNow = await s.client.job(b.jobId);
      assert.equal(bNow.status, 'pending');
      assert.equal(bNow.processAlive, false);
      const jobB = await s.client.wait(b.jobId);
      const jobA = await s.client.wait(a.jobId);
      assert.equal(jobB.stdout, 'b\n');
      assert.ok(jobB.startedAt! >= jobA.finishedAt!, 'b started only after a finished');
    } finally {
      await s.close();
    }
  });
});
