// Shell jobs start from a small helper process (src/server/jobs/spawner.ts): whichever of the two dies,
// no job is left running unseen, and the server goes on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { eventually, processesWith, spawnCli, spawnHelperOf, tempDir } from '../helpers/server';
import { Spawner } from '../../src/server/jobs/spawner';

/** Runs `command` through `spawner` to its end; its exit code. */
function runThrough(spawner: Spawner, command: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const request = { command, cwd: tempDir(), env: {}, stdout: '/dev/null', stderr: '/dev/null' };
    spawner.spawn(request, { spawned: () => undefined, stdinClosed: () => undefined, failed: (m) => reject(new Error(m)), exit: resolve });
  });
}

// Not a zombie: a helper whose server died is reparented to an init that may reap it late.
const alive = (pid: number) => processesWith('spawn-helper').includes(pid);
const groupOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
};

describe('spawn helper', () => {
  it('runs only while there is work: none at start, one for jobs, gone once idle, a new one for the next job', async () => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    try {
      assert.throws(() => spawnHelperOf(cli.child.pid!), /no spawn helper/, 'an idle server keeps no helper');
      assert.equal((await cli.run({ command: 'echo one' })).stdout, 'one\n');
      const first = spawnHelperOf(cli.child.pid!);
      const spawner = new Spawner(200);
      assert.equal(await runThrough(spawner, 'exit 3'), 3);
      assert.equal(spawner.running, true, 'kept while there is work');
      await eventually(() => !spawner.running, 5_000, 'the helper to go once idle');
      assert.equal(await runThrough(spawner, 'true'), 0);
      assert.equal(spawner.running, true, 'a new one for the next job');
      await spawner.dispose();
      assert.equal(spawnHelperOf(cli.child.pid!), first, "the server's own helper stays through its idle time");
    } finally {
      await cli.stop();
    }
  });

  it('runs jobs as children of its own, not of the server', async () => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    try {
      const job = await cli.run({ command: 'echo "parent=$PPID"' });
      const helper = spawnHelperOf(cli.child.pid!);
      assert.equal(job.status, 'completed');
      // sh -c runs the command itself, so its parent is the process that spawned sh
      assert.equal(job.stdout, `parent=${helper}\n`);
    } finally {
      await cli.stop();
    }
  });

  it('lives in its own process group and ignores the signals meant for the server, ending with it', async () => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    let helper = 0;
    try {
      assert.equal((await cli.run({ command: 'true' })).status, 'completed'); // the helper is up by now
      helper = spawnHelperOf(cli.child.pid!);
      assert.notEqual(groupOf(helper), groupOf(cli.child.pid!), 'a Ctrl+C to the terminal reaches the server only');
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.kill(helper, signal);
      const job = await cli.run({ command: 'echo still here' });
      assert.equal(job.stdout, 'still here\n');
      assert.equal(spawnHelperOf(cli.child.pid!), helper, 'the same helper');
    } finally {
      assert.equal(await cli.stop('SIGINT'), 0);
    }
    await eventually(() => !alive(helper), 5_000, 'the helper to exit with the server');
  });

  it('ends the jobs of a server that died outright, then exits', async () => {
    const marker = `ar-orphan-${randomBytes(4).toString('hex')}`;
    const cli = await spawnCli(['--state-dir', tempDir()]);
    let helper = 0;
    try {
      const r = await cli.call('POST', '/exec', { command: `sleep 300 # ${marker}` });
      assert.equal(r.status, 202);
      await eventually(() => processesWith(marker).length >= 1, 10_000, 'the job to run');
      helper = spawnHelperOf(cli.child.pid!);
    } finally {
      await cli.stop('SIGKILL');
    }
    await eventually(() => processesWith(marker).length === 0, 5_000, 'the job to be ended by the helper');
    await eventually(() => !alive(helper), 5_000, 'the helper to exit');
  });

  it('fails the jobs of a helper that died, ends their processes, and starts a new helper for the next job', async () => {
    const marker = `ar-lost-${randomBytes(4).toString('hex')}`;
    const cli = await spawnCli(['--state-dir', tempDir()]);
    try {
      const r = await cli.call('POST', '/exec', { command: `echo started; sleep 300 # ${marker}` });
      await eventually(async () => (await cli.call('GET', `/jobs/${r.body.jobId}`)).body.stdout === 'started\n', 10_000, 'the job to run');
      const helper = spawnHelperOf(cli.child.pid!);
      process.kill(helper, 'SIGKILL');
      const lost = await cli.waitJob(r.body.jobId);
      assert.equal(lost.status, 'failed');
      assert.equal(lost.endReason, 'error');
      assert.match(lost.error, /spawn helper exited \(SIGKILL\)/);
      assert.equal(lost.stdout, 'started\n', 'its output is kept');
      await eventually(() => processesWith(marker).length === 0, 5_000, 'the lost job to be ended');

      const next = await cli.run({ command: 'echo fine' });
      assert.equal(next.status, 'completed');
      assert.equal(next.stdout, 'fine\n');
      assert.notEqual(spawnHelperOf(cli.child.pid!), helper);
    } finally {
      await cli.stop();
    }
  });
});
