// AgentRuntimeClient against the real server on a free loopback port: every method of jobs, the machine
// and the server itself, its typed errors, the key, and abort signals on the long calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentRuntimeClient, isFinal } from '../../src/client';
import { startTestServer, tempDir, type TestServer } from '../helpers/server';
import { failure } from './helpers';

let s: TestServer;
let client: AgentRuntimeClient;
before(async () => {
  s = await startTestServer();
  client = new AgentRuntimeClient({ url: s.url + '/', key: s.key });
});
after(() => s.close());

describe('AgentRuntimeClient: jobs', () => {
  it('health with the key is the full payload', async () => {
    const h = await client.health();
    assert.equal(h.status, 'ok');
    assert.equal(h.authenticated, true);
    assert.equal(h.pid, process.pid);
    assert.ok(h.execution_modes?.includes('shell'));
  });

  it('exec answers 202 pending; wait long-polls to the end; run does both', async () => {
    const accepted = await client.exec({ command: 'sleep 0.3; echo done' });
    assert.match(accepted.jobId, /^[0-9a-f]{12}$/);
    assert.equal(accepted.status, 'pending');
    const job = await client.wait(accepted.jobId, { pollSeconds: 1 });
    assert.equal(job.status, 'completed');
    assert.equal(job.stdout, 'done\n');
    assert.equal(job.exitCode, 0);
    assert.ok(isFinal(job));
    const ran = await client.run({ command: 'printf "a\\nb\\nc\\n"; exit 3' }, { tailLines: 2 });
    assert.equal(ran.status, 'failed');
    assert.equal(ran.exitCode, 3);
    assert.equal(ran.stdout, 'b\nc\n');
  });

  it('wait asks only for news while a chatty job runs', async () => {
    const seen: string[] = [];
    const spy = new AgentRuntimeClient({
      url: s.url,
      key: s.key,
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    const job = await spy.run({ command: 'for i in 1 2 3 4 5; do echo $i; sleep 0.2; done' }, { pollSeconds: 5 });
    assert.equal(job.stdout, '1\n2\n3\n4\n5\n');
    const polls = seen.filter((u) => u.includes('wait='));
    assert.ok(polls.length >= 2, polls.join(' '));
    assert.ok(
      polls.slice(1).every((u) => /stdoutFrom=\d+/.test(u)),
      polls.join(' '),
    );
  });

  it('job reads from byte offsets; jobs lists the newest first', async () => {
    const done = await client.run({ command: 'printf hello-world' });
    const part = await client.job(done.jobId, { stdoutFrom: 6 });
    assert.equal(part.stdout, 'world');
    assert.equal(part.stdoutBytes, 11);
    const list = await client.jobs();
    assert.equal(list[0].jobId, done.jobId);
  });

  it('Idempotency-Key: a repeat returns the job already started', async () => {
    const a = await client.exec({ command: 'echo once' }, { idempotencyKey: 'client-test-1' });
    const b = await client.exec({ command: 'echo once' }, { idempotencyKey: 'client-test-1' });
    assert.equal(b.jobId, a.jobId);
  });

  it('input writes stdin and closes it; nudge writes a newline', async () => {
    const { jobId } = await client.exec({ command: 'read a; read b; echo "got $a $b"; cat' });
    assert.deepEqual(await client.input(jobId, 'one\n'), { written: 4, eof: false });
    const nudged = await client.nudge(jobId);
    assert.equal(nudged.nudged, true);
    assert.equal(nudged.processAlive, true);
    await client.input(jobId, 'rest', { eof: true });
    const job = await client.wait(jobId);
    assert.equal(job.stdout, 'got one \nrest');
    const closed = await failure(client.input(jobId, 'more'));
    assert.equal(closed.status, 409);
    assert.equal(closed.body.error, 'process not running');
  });

  it('cancel ends the job as failed, cancelled; a second cancel is 409', async () => {
    const { jobId } = await client.exec({ command: 'sleep 30' });
    await client.job(jobId, { wait: 2 }); // running by now
    const job = await client.cancel(jobId);
    assert.equal(job.status, 'failed');
    assert.equal(job.cancelled, true);
    assert.equal(job.endReason, 'cancelled');
    assert.equal((await failure(client.cancel(jobId))).status, 409);
  });

  it("errors carry the status and the server's JSON error", async () => {
    const missing = await failure(client.job('nope'));
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'job not found' });
    assert.equal(missing.method, 'GET');
    assert.equal(missing.path, '/jobs/nope');
    assert.match(missing.message, /GET \/jobs\/nope -> 404: job not found/);
    const bad = await failure(client.exec({ command: 'true', workdir: '/no/such/dir' }));
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /workdir/);
    const wrongKey = new AgentRuntimeClient({ url: s.url, key: 'wrong' });
    const denied = await failure(wrongKey.jobs());
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error, 'invalid or missing API key');
    // Without a key /health answers, minimal.
    assert.deepEqual(await wrongKey.health(), { status: 'ok', authenticated: false });
  });

  it('an abort signal ends a long call at once', async () => {
    const { jobId } = await client.exec({ command: 'sleep 30' });
    const started = Date.now();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(client.wait(jobId, { signal: ac.signal }), { name: 'AbortError' });
    await assert.rejects(client.job(jobId, { wait: 30, signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' });
    assert.ok(Date.now() - started < 10_000, 'both returned long before the job or the long-poll would');
    await client.cancel(jobId);
  });
});

describe('AgentRuntimeClient: the machine and the server', () => {
  it('system, ports, metrics, openapi', async () => {
    const sys = await client.system();
    assert.equal(sys.platform, process.platform);
    assert.ok((sys.cpus ?? 0) >= 1);
    const ports = await client.ports();
    const serverPort = Number(new URL(s.url).port);
    assert.ok(
      ports.ports.some((p) => p.port === serverPort),
      'the server itself listens',
    );
    assert.match(await client.metrics(), /agent_runtime_jobs_total/);
    const doc = await client.openapi();
    assert.equal(doc.openapi, '3.1.0');
  });

  it('exposePort and unexposePort without a tunnel: 409', async () => {
    assert.equal((await failure(client.exposePort(3000))).status, 409);
    assert.equal((await failure(client.unexposePort(3000))).status, 409);
  });

  it('persistent shells: sessions, session, deleteSession', async () => {
    const job = await client.run({ mode: 'persistent_shell', shell: 'bash', sessionKey: 'client-test', command: 'echo $((6*7))' });
    assert.equal(job.stdout.trim(), '42');
    const list = await client.sessions();
    assert.ok(list.some((x) => x.sessionKey === 'client-test'));
    assert.equal((await client.session('client-test')).shell, 'bash');
    assert.deepEqual(await client.deleteSession('client-test'), { deleted: true, sessionKey: 'client-test' });
    assert.equal((await failure(client.session('client-test'))).status, 404);
  });

  it('terminals, tickets, update', async () => {
    const t = await client.terminalTicket();
    assert.ok(t.ticket.length > 20);
    const list = await client.terminals();
    assert.ok(Array.isArray(list.terminals));
    assert.equal((await failure(client.endTerminal('nope'))).status, 404);
    const busy = await client.exec({ command: 'sleep 30', workdir: tempDir() });
    await client.job(busy.jobId, { wait: 2 });
    const refused = await failure(client.update());
    assert.equal(refused.status, 409);
    assert.match(refused.body.error, /jobs are running/);
    await client.cancel(busy.jobId);
    const bad = await failure(client.update({ drain: 'yes' as unknown as boolean }));
    assert.equal(bad.status, 400);
  });
});
