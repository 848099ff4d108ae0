// Timeout and cancel end the whole process tree; no process outlives its job.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eventually, processesWith, startTestServer, type TestServer } from '../helpers/server';

/** A command that leaves a child and a grandchild that ignore SIGTERM, each findable by `marker`. */
function stubbornTree(marker: string): string {
  return `sh -c 'trap "" TERM; sleep 300 # ${marker}' & sh -c 'sh -c "sleep 301 # ${marker}" & wait' & echo started; wait`;
}

describe('process trees', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ killGraceMs: 300 });
  });
  after(() => s.close());

  it("a timeout kills the whole tree and reports the seed's timeout fields", async () => {
    const marker = `ar-timeout-${randomBytes(4).toString('hex')}`;
    const r = await s.call('POST', '/exec', { command: stubbornTree(marker), timeout: 1 });
    await eventually(() => processesWith(marker).length >= 2, 10_000, 'the tree to start');
    const job = await s.waitJob(r.body.jobId);
    assert.equal(job.status, 'timeout');
    assert.equal(job.timedOut, true);
    assert.equal(job.exitCode, -1);
    assert.equal(job.endReason, 'timeout');
    assert.equal(job.stdout, 'started\n');
    assert.ok(job.durationMs >= 1000);
    await eventually(() => processesWith(marker).length === 0, 10_000, 'no process left');
  });

  it('cancel kills the whole tree; the job ends failed with cancelled: true', async () => {
    const marker = `ar-cancel-${randomBytes(4).toString('hex')}`;
    const r = await s.call('POST', '/exec', { command: stubbornTree(marker) });
    await eventually(() => processesWith(marker).length >= 2, 10_000, 'the tree to start');
    const c = await s.call('POST', `/jobs/${r.body.jobId}/cancel`);
    assert.equal(c.status, 200);
    assert.equal(c.body.status, 'failed');
    assert.equal(c.body.cancelled, true);
    assert.equal(c.body.endReason, 'cancelled');
    assert.equal(c.body.processAlive, false);
    await eventually(() => processesWith(marker).length === 0, 10_000, 'no process left');
  });

  it('cancelling a pending job never starts it', async () => {
    const one = await startTestServer({ maxConcurrentJobs: 1 });
    try {
      const a = await one.call('POST', '/exec', { command: 'sleep 30' });
      const b = await one.call('POST', '/exec', { command: 'echo should-not-run' });
      const c = await one.call('POST', `/jobs/${b.body.jobId}/cancel`);
      assert.equal(c.body.status, 'failed');
      assert.equal(c.body.cancelled, true);
      assert.equal(c.body.stdout, '');
      await one.call('POST', `/jobs/${a.body.jobId}/cancel`);
    } finally {
      await one.close();
    }
  });

  it('what a finished command left in the background ends with it', async () => {
    const marker = `ar-bg-${randomBytes(4).toString('hex')}`;
    const job = await s.run({ command: `sh -c 'sleep 300 # ${marker}' & echo left` });
    assert.equal(job.status, 'completed');
    await eventually(() => processesWith(marker).length === 0, 10_000, 'background process ended');
  });

  it('shutting the server down ends running jobs as interrupted', async () => {
    const t = await startTestServer();
    const marker = `ar-shutdown-${randomBytes(4).toString('hex')}`;
    const r = await t.call('POST', '/exec', { command: `sleep 300 # ${marker}` });
    await eventually(() => processesWith(marker).length >= 1, 10_000, 'job started');
    const job = t.server.manager.store.get(r.body.jobId)!;
    await t.close();
    assert.equal(job.record.status, 'failed');
    assert.equal(job.record.interrupted, true);
    assert.equal(job.record.endReason, 'interrupted');
    assert.equal(processesWith(marker).length, 0);
  });
});
