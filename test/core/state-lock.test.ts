// One server per state dir: a second one is refused before it touches anything, one that dies lets go at
// once, and one that shuts down is waited for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { askHolder, lockStateDir } from '../../src/server/state-lock';
import { CLI, spawnCli, startTestServer, tempDir, TEST_KEY } from '../helpers/server';

describe('the state dir lock', () => {
  it('refuses a second server on the same state dir, leaving the first one and its running job alone', async () => {
    const stateDir = tempDir();
    const first = await spawnCli(['--state-dir', stateDir, '--kill-grace-ms', '0']);
    try {
      const running = (await first.call('POST', '/exec', { command: 'sleep 1; echo finished' })).body.jobId;
      await first.call('GET', `/jobs/${running}?wait=5`); // running now
      const folders = readdirSync(join(stateDir, 'jobs')).sort();

      const second = spawnSync(CLI, ['--port', '0', '--state-dir', stateDir, '--kill-grace-ms', '0'], {
        env: { ...process.env, AGENT_RUNTIME_API_KEY: TEST_KEY },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.notEqual(second.status, 0);
      assert.match(second.stderr, new RegExp(`in use by another agent-server \\(pid ${first.child.pid}\\); each server needs its own \\(--state-dir\\)`));

      assert.deepEqual(readdirSync(join(stateDir, 'jobs')).sort(), folders, 'no job folder of the first server was removed');
      const job = await first.waitJob(running);
      assert.equal(job.status, 'completed', 'the running job was neither killed nor marked interrupted');
      assert.equal(job.stdout, 'finished\n');
      assert.equal((await first.run({ command: 'echo next' })).stdout, 'next\n');
    } finally {
      await first.stop();
    }
  });

  it('is free the moment its server dies, and once it stops', async () => {
    const stateDir = tempDir();
    const killed = await spawnCli(['--state-dir', stateDir]);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const started = Date.now();
    const next = await spawnCli(['--state-dir', stateDir]);
    assert.ok(Date.now() - started < 2500, `started without waiting for the dead server: ${Date.now() - started} ms`);
    assert.equal((await next.run({ command: 'echo ok' })).stdout, 'ok\n');
    await next.stop();
    const release = await lockStateDir(stateDir, 0); // would throw if the stopped server still held it
    release();
  });

  it('waits for a server that is shutting down, then starts', async () => {
    const stateDir = tempDir();
    const first = await startTestServer({ stateDir, killGraceMs: 0 });
    const closing = new Promise<void>((resolve) => setTimeout(() => void first.close().then(resolve), 500));
    const second = await startTestServer({ stateDir, killGraceMs: 0 });
    try {
      await closing;
      assert.equal((await second.run({ command: 'echo after' })).stdout, 'after\n');
    } finally {
      await second.close();
    }
  });

  // macOS replaces a lock's socket file that nobody listens on; these are the answers it goes by, asked
  // here of socket files, as there.
  it('tells a dead holder (its socket file refused) from a live but busy one (accepted, silent)', async () => {
    const dir = tempDir();
    assert.equal(await askHolder(join(dir, 'none.sock')), 'gone', 'no socket file');

    const stale = join(dir, 'stale.sock');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`]);
    await new Promise((r) => holder.stdout.once('data', r));
    holder.kill('SIGKILL'); // its socket file stays behind
    await new Promise((r) => holder.once('exit', r));
    assert.equal(await askHolder(stale), 'gone', 'a socket file left by a server that died');

    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket)); // accepts, never answers: a blocked event loop
    const busy = join(dir, 'busy.sock');
    await new Promise<void>((r) => silent.listen(busy, r));
    try {
      assert.equal(await askHolder(busy), 'busy', 'a live holder is never taken for dead');
    } finally {
      held.forEach((s) => s.destroy());
      silent.close();
    }

    const answering = createServer((socket) => socket.end('4242'));
    const live = join(dir, 'live.sock');
    await new Promise<void>((r) => answering.listen(live, r));
    assert.equal(await askHolder(live), 4242);
    answering.close();
  });

  it('refuses a second server in the same process, saying so', async () => {
    const stateDir = tempDir();
    const first = await startTestServer({ stateDir });
    try {
      await assert.rejects(startTestServer({ stateDir, killGraceMs: 0 }), new RegExp(`pid ${process.pid}, this very process`));
      assert.equal((await first.run({ command: 'echo still' })).stdout, 'still\n');
    } finally {
      await first.close();
    }
  });
});
