// The command API over real HTTP: seed-compatible routes, statuses and field names, and auth.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
    const { status, body } = await s.call('GET', '/health');
    assert.equal(status, 200);
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
    assert.ok(body.execution_modes.includes('shell'));
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
    const r = await s.call('POST', '/exec', { command: 'echo out; echo err >&2' });
    assert.equal(r.status, 202);
    assert.equal(r.body.status, 'pending');
    assert.match(r.body.jobId, /^[0-9a-f]{12}$/);
    const job = await s.waitJob(r.body.jobId);
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
    const job = await s.run({ command: 'exit 7' });
    assert.equal(job.status, 'failed');
    assert.equal(job.exitCode, 7);
    assert.equal(job.endReason, 'exit');
  });

  it('honours workdir and env, and does not hand the API key to jobs', async () => {
    const dir = tempDir('ar-wd-');
    writeFileSync(join(dir, 'marker.txt'), 'here');
    process.env.AGENT_RUNTIME_API_KEY = 'leaked?';
    try {
      const job = await s.run({ command: 'cat marker.txt; echo " $FOO ${AGENT_RUNTIME_API_KEY:-none}"', workdir: dir, env: { FOO: 'bar baz' } });
      assert.equal(job.stdout, 'here bar baz none\n');
      assert.equal(job.workdir, dir);
    } finally {
      delete process.env.AGENT_RUNTIME_API_KEY;
    }
  });

  it('GET /jobs lists the 20 most recent, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 22; i++) ids.push((await s.call('POST', '/exec', { command: `echo ${i}` })).body.jobId);
    for (const id of ids) await s.waitJob(id);
    const { status, body } = await s.call('GET', '/jobs');
    assert.equal(status, 200);
    assert.ok(Array.isArray(body));
    assert.equal(body.length, 20);
    assert.deepEqual(
      body.map((j: any) => j.jobId),
      ids.slice(-20).reverse(),
    );
    assert.equal(body[0].stdout, '21\n');
  });

  it('tailLines returns the last lines only', async () => {
    const job = await s.run({ command: 'seq 1 100' });
    const { body } = await s.call('GET', `/jobs/${job.jobId}?tailLines=3`);
    assert.equal(body.stdout, '98\n99\n100\n');
    assert.equal(body.stdoutTruncated, true);
  });

  it('answers 404 for unknown jobs and routes', async () => {
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
    const r = await s.call('POST', '/exec', { command: 'read a; echo "got [$a]"; cat' });
    const id = r.body.jobId;
    const nudge = await s.call('POST', `/jobs/${id}/nudge`);
    assert.equal(nudge.status, 200);
    assert.deepEqual(nudge.body, { nudged: true, processAlive: true });
    const input = await s.call('POST', `/jobs/${id}/input`, { data: 'héllo\n', eof: true });
    assert.equal(input.status, 200);
    assert.deepEqual(input.body, { written: 7, eof: true });
    const job = await s.waitJob(id);
    assert.equal(job.stdout, 'got []\nhéllo\n');
    const late = await s.call('POST', `/jobs/${id}/nudge`);
    assert.deepEqual(late.body, { nudged: false, reason: 'process not running', processAlive: false });
    const lateInput = await s.call('POST', `/jobs/${id}/input`, { data: 'x' });
    assert.equal(lateInput.status, 409);
    assert.equal(lateInput.body.error, 'process not running');
  });

  it('input to a job that closed its stdin is refused (409), not dropped silently', async () => {
    const r = await s.call('POST', '/exec', { command: 'exec 0<&-; echo closed; sleep 30' });
    const id = r.body.jobId;
    try {
      await eventually(async () => (await s.call('GET', `/jobs/${id}`)).body.stdout === 'closed\n');
      // The first write is where the pipe tells that nobody reads it any more; from then on, input is refused.
      const refused = await eventually(async () => {
        const input = await s.call('POST', `/jobs/${id}/input`, { data: 'lost?\n' });
        return input.status === 409 ? input : undefined;
      });
      assert.equal(refused!.body.error, 'stdin is closed');
      assert.equal(refused!.body.processAlive, true);
    } finally {
      await s.call('POST', `/jobs/${id}/cancel`);
    }
  });

  it('POST /update is refused with 409 while a job runs, then answers once idle', async () => {
    const r = await s.call('POST', '/exec', { command: 'sleep 30' });
    const busy = await s.call('POST', '/update');
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error, 'cannot update while jobs are running');
    assert.equal(busy.body.running_jobs, 1);
    await s.call('POST', `/jobs/${r.body.jobId}/cancel`);
    const idle = await s.call('POST', '/update');
    assert.equal(idle.status, 200);
    assert.equal(idle.body.version, (await s.call('GET', '/health')).body.version);
  });

  it('Idempotency-Key returns the job already started instead of a second one', async () => {
    const body = { command: 'echo once >> counter.txt; cat counter.txt', workdir: tempDir('ar-idem-') };
    const first = await s.call('POST', '/exec', body, { 'Idempotency-Key': 'k-1' });
    const again = await s.call('POST', '/exec', body, { 'Idempotency-Key': 'k-1' });
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.body.jobId, first.body.jobId);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const job = await s.waitJob(first.body.jobId);
    assert.equal(job.stdout, 'once\n');
    const other = await s.call('POST', '/exec', { ...body, command: 'true' }, { 'Idempotency-Key': 'k-1' });
    assert.equal(other.status, 422);
    assert.equal(other.body.jobId, first.body.jobId);
    const fresh = await s.call('POST', '/exec', body, { 'Idempotency-Key': 'k-2' });
    assert.notEqual(fresh.body.jobId, first.body.jobId);
    await s.waitJob(fresh.body.jobId);
  });

  it('serves many concurrent clients without errors', async () => {
    const clients = Array.from({ length: 8 }, async (_, c) => {
      const out: string[] = [];
      for (let i = 0; i < 10; i++) out.push((await s.run({ command: `echo ${c}-${i}` })).stdout);
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
      const a = await s.call('POST', '/exec', { command: 'sleep 1; echo a' });
      const b = await s.call('POST', '/exec', { command: 'echo b' });
      const bNow = await s.call('GET', `/jobs/${b.body.jobId}`);
      assert.equal(bNow.body.status, 'pending');
      assert.equal(bNow.body.processAlive, false);
      const jobB = await s.waitJob(b.body.jobId);
      const jobA = await s.waitJob(a.body.jobId);
      assert.equal(jobB.stdout, 'b\n');
      assert.ok(jobB.startedAt >= jobA.finishedAt, 'b started only after a finished');
    } finally {
      await s.close();
    }
  });
});
