// Job records and output survive a restart; a job cut off by the server's death is reported as such.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { Job, readRecord } from '../../src/server/jobs/job';
import type { JobRecord } from '../../src/server/jobs/types';
import { join } from 'node:path';
import { eventually, processesWith, spawnCli, spawnHelperOf, startTestServer, tempDir } from '../helpers/server';

describe('persistence', () => {
  it('keeps finished jobs across a restart and marks a job running at a crash interrupted, ending its processes', async () => {
    const stateDir = tempDir();
    const marker = `ar-crash-${randomBytes(4).toString('hex')}`;
    const first = await spawnCli(['--state-dir', stateDir]);
    const done = await first.run({ command: 'echo survived' });
    const running = await first.call('POST', '/exec', { command: `echo before-crash; sleep 300 # ${marker}` });
    await eventually(async () => (await first.call('GET', `/jobs/${running.body.jobId}`)).body.stdout === 'before-crash\n');
    // A crash of the server and its spawn helper together (alone, the helper would end the job at once,
    // see spawn-helper.test.ts): the helper is frozen first, so it cannot act before it dies.
    const helper = spawnHelperOf(first.child.pid!);
    process.kill(helper, 'SIGSTOP');
    await first.stop('SIGKILL');
    process.kill(helper, 'SIGKILL');
    assert.ok(processesWith(marker).length >= 1, 'the job outlived the crashed server');

    const second = await spawnCli(['--state-dir', stateDir]);
    try {
      const kept = (await second.call('GET', `/jobs/${done.jobId}`)).body;
      assert.equal(kept.status, 'completed');
      assert.equal(kept.stdout, 'survived\n');
      const cut = (await second.call('GET', `/jobs/${running.body.jobId}`)).body;
      assert.equal(cut.status, 'failed');
      assert.equal(cut.interrupted, true);
      assert.equal(cut.endReason, 'interrupted');
      assert.equal(cut.stdout, 'before-crash\n', 'its output is kept');
      await eventually(() => processesWith(marker).length === 0, 10_000, 'the orphaned job to be ended');
      const list = (await second.call('GET', '/jobs')).body;
      assert.deepEqual(list.map((j: any) => j.jobId).sort(), [done.jobId, running.body.jobId].sort());
    } finally {
      await second.stop();
    }
  });

  it('stores the key file with mode 0600 and job records under the state dir', async () => {
    const stateDir = tempDir();
    const cli = await spawnCli(['--state-dir', stateDir], { AGENT_RUNTIME_API_KEY: '' }, 'unused');
    await cli.stop();
    const keyFile = join(stateDir, 'api_key');
    assert.ok(existsSync(keyFile));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.ok(!cli.stderr().includes(readFileSync(keyFile, 'utf8').trim()), 'the key is never logged');
  });

  it('forgets the oldest finished jobs past maxJobsKept, files included', async () => {
    const s = await startTestServer({ maxJobsKept: 20 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push((await s.run({ command: `echo ${i}` })).jobId);
      await eventually(() => readdirSync(join(s.stateDir, 'jobs')).length === 20, 5000, 'the forgotten folders to go');
      const dirs = readdirSync(join(s.stateDir, 'jobs'));
      assert.deepEqual(dirs.sort(), ids.slice(5).sort());
      assert.equal((await s.call('GET', `/jobs/${ids[0]}`)).status, 404);
      assert.equal((await s.call('GET', `/jobs/${ids[24]}`)).status, 200);
    } finally {
      await s.close();
    }
  });

  it("at its limit, deletes the forgotten jobs' folders: nothing of an old job reaches a new one", async () => {
    const s = await startTestServer({ maxJobsKept: 20 });
    const held: number[] = [];
    try {
      const old: string[] = [];
      for (let i = 0; i < 20; i++) old.push((await s.run({ command: `echo old-out-${i}; echo old-err-${i} >&2` })).jobId);
      const jobsDir = join(s.stateDir, 'jobs');
      // The held logs stand for a process that escaped its job's group and still writes.
      for (const id of old) {
        for (const log of ['stdout.log', 'stderr.log']) held.push(openSync(join(jobsDir, id, log), 'a'));
        writeFileSync(join(jobsDir, id, 'events.jsonl'), `${JSON.stringify({ seq: 1, at: 1, type: 'old', data: {} })}\n`);
      }
      const fresh: string[] = [];
      for (let i = 0; i < 12; i++) fresh.push((await s.run({ command: `echo new-${i}` })).jobId);
      for (const fd of held) writeSync(fd, 'written through an old log\n');
      for (const [i, id] of fresh.entries()) {
        const seen = (await s.call('GET', `/jobs/${id}`)).body;
        assert.equal(seen.stdout, `new-${i}\n`);
        assert.equal(seen.stderr, '');
        assert.deepEqual(readdirSync(join(jobsDir, id)).sort(), ['job.json', 'stderr.log', 'stdout.log']);
      }
      await eventually(() => readdirSync(jobsDir).length === 20, 5000, 'the forgotten folders to go');
      assert.deepEqual(readdirSync(jobsDir).sort(), [...old.slice(12), ...fresh].sort());
      for (const id of old.slice(0, 12)) assert.equal((await s.call('GET', `/jobs/${id}`)).status, 404);
    } finally {
      for (const fd of held) closeSync(fd);
      await s.close();
    }
  });

  it('after a restart, forgets the oldest first, and drops a folder whose job was never saved', async () => {
    const stateDir = tempDir();
    const first = await spawnCli(['--state-dir', stateDir]);
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push((await first.run({ command: `echo ${i}` })).jobId);
    await first.stop();
    const jobsDir = join(stateDir, 'jobs');
    // The server died between making a job's folder and its first save.
    const unsaved = 'abcdefabcdef';
    mkdirSync(join(jobsDir, unsaved));
    writeFileSync(join(jobsDir, unsaved, 'stdout.log'), '');
    const second = await spawnCli(['--state-dir', stateDir, '--max-jobs-kept', '20']);
    try {
      for (const [i, id] of ids.entries()) assert.equal((await second.call('GET', `/jobs/${id}`)).status, i < 5 ? 404 : 200, `job ${i}`);
      assert.ok(!existsSync(join(jobsDir, unsaved)), 'the unsaved folder is gone');
      const listed: string[] = (await second.call('GET', '/jobs')).body.map((j: any) => j.jobId);
      assert.deepEqual(listed.sort(), ids.slice(5).sort(), 'no phantom job listed');
      assert.deepEqual(readdirSync(jobsDir).sort(), ids.slice(5).sort());
    } finally {
      await second.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('job records on disk', () => {
  const record = (command: string): JobRecord => ({
    jobId: 'abcdef012345',
    mode: 'shell',
    status: 'running',
    command,
    workdir: '/',
    timeout: 60,
    submittedAt: 1,
    fields: {},
  });

  it('are rewritten in place, shorter ones trimmed, and read whole after a crash between write and trim', () => {
    const dir = tempDir();
    const job = new Job(record('x'.repeat(500)), dir);
    job.save();
    const inode = statSync(join(dir, 'job.json')).ino;
    job.record.command = 'short';
    job.save();
    const path = join(dir, 'job.json');
    assert.equal(statSync(path).ino, inode, 'the same file, rewritten');
    assert.equal(readFileSync(path, 'utf8'), `${JSON.stringify(job.record)}\n`, 'no tail of the longer version');
    // What a crash after the write but before the trim leaves: the new record, then the old one's tail.
    writeFileSync(path, `${JSON.stringify(record('new'))}\n${'y'.repeat(300)}"}\n`);
    assert.equal(readRecord(dir).command, 'new');
    rmSync(dir, { recursive: true, force: true });
  });

  it('longer than a page go through a temporary file and a rename', () => {
    const dir = tempDir();
    const job = new Job(record('short'), dir);
    job.save();
    const inode = statSync(join(dir, 'job.json')).ino;
    job.record.command = 'z'.repeat(10_000);
    job.save();
    assert.notEqual(statSync(join(dir, 'job.json')).ino, inode, 'a new file replaced the old one');
    assert.equal(readRecord(dir).command, job.record.command);
    assert.ok(!existsSync(join(dir, 'job.json.tmp')));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('a record cut short (a power cut)', () => {
  it('comes back as an interrupted job with its output, not as a folder nobody sees', async () => {
    const stateDir = tempDir();
    const first = await spawnCli(['--state-dir', stateDir]);
    const done = await first.run({ command: 'echo kept' });
    await first.stop();
    writeFileSync(join(stateDir, 'jobs', done.jobId, 'job.json'), '{"jobId": "'); // what a power cut may leave
    const second = await spawnCli(['--state-dir', stateDir]);
    try {
      const job = (await second.call('GET', `/jobs/${done.jobId}`)).body;
      assert.equal(job.status, 'failed');
      assert.equal(job.interrupted, true);
      assert.match(job.error, /record was unreadable/);
      assert.equal(job.stdout, 'kept\n');
    } finally {
      await second.stop();
    }
  });
});
