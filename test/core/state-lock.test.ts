// One server per state dir: a second one is refused before it touches anything, a lock left by a server
// that died is taken over, and a server that stops lets go of it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE } from '../../src/server/state-lock';
import { CLI, spawnCli, startTestServer, tempDir, TEST_KEY } from '../helpers/server';

describe('the state dir lock', () => {
  it('refuses a second server on the same state dir, leaving the first one and its running job alone', async () => {
    const stateDir = tempDir();
    const first = await spawnCli(['--state-dir', stateDir, '--kill-grace-ms', '0']);
    try {
      const running = (await first.call('POST', '/exec', { command: 'sleep 1; echo finished' })).body.jobId;
      await first.call('GET', `/jobs/${running}?wait=5`); // running now
      const spares = readdirSync(join(stateDir, 'jobs')).sort();

      const second = spawnSync(CLI, ['--port', '0', '--state-dir', stateDir, '--kill-grace-ms', '0'], {
        env: { ...process.env, AGENT_RUNTIME_API_KEY: TEST_KEY },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.notEqual(second.status, 0);
      assert.match(second.stderr, new RegExp(`in use by another agent-server \\(pid ${first.child.pid}\\)`));
      assert.match(second.stderr, /each server needs its own \(--state-dir\)/);

      assert.deepEqual(readdirSync(join(stateDir, 'jobs')).sort(), spares, 'no job folder of the first server was removed');
      const job = await first.waitJob(running);
      assert.equal(job.status, 'completed', 'the running job was neither killed nor marked interrupted');
      assert.equal(job.stdout, 'finished\n');
      assert.equal((await first.run({ command: 'echo next' })).stdout, 'next\n');
    } finally {
      await first.stop();
    }
    assert.equal(existsSync(join(stateDir, LOCK_FILE)), false, 'a server that stops lets go of its state dir');
  });

  it('takes over the lock of a server that died', async () => {
    const stateDir = tempDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(stateDir, LOCK_FILE), JSON.stringify({ pid: Number(gone.stdout), startedAt: 1 }));
    const cli = await spawnCli(['--state-dir', stateDir]);
    try {
      const lock = JSON.parse(readFileSync(join(stateDir, LOCK_FILE), 'utf8'));
      assert.equal(lock.pid, cli.child.pid);
      assert.equal((await cli.run({ command: 'echo ok' })).stdout, 'ok\n');
    } finally {
      await cli.stop();
    }
  });

  it('takes over a lock file left unreadable', async () => {
    const stateDir = tempDir();
    writeFileSync(join(stateDir, LOCK_FILE), '{"pid": 12');
    const s = await startTestServer({ stateDir });
    try {
      assert.equal(JSON.parse(readFileSync(join(stateDir, LOCK_FILE), 'utf8')).pid, process.pid);
    } finally {
      await s.close();
    }
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
});
