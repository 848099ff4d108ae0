// One server per state dir: a second one is refused before it touches anything, one that dies lets go at
// once, and one that shuts down is waited for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { createHmac, randomBytes } from 'node:crypto';
import { askHolder, lockStateDir, probeStateDir } from '../../src/server/state-lock';
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
    // Were it to wait for the dead holder, it would wait killGraceMs + 3 s: 63 s with this grace, so a
    // bound with room for a loaded machine still tells the two apart.
    const next = await spawnCli(['--state-dir', stateDir, '--kill-grace-ms', '60000']);
    try {
      assert.ok(Date.now() - started < 20_000, `started without waiting for the dead server: ${Date.now() - started} ms`);
      assert.equal((await next.run({ command: 'echo ok' })).stdout, 'ok\n');
    } finally {
      await next.stop();
    }
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
  // here of socket files, as there. A holder must prove it knows the state dir's secret.
  it('tells a dead holder (refused) from a live but busy one (accepted, silent), and a proven one from an impostor', async () => {
    const dir = tempDir();
    const secret = randomBytes(32);
    assert.equal(await askHolder(join(dir, 'none.sock'), secret), 'gone', 'no socket file');

    const stale = join(dir, 'stale.sock');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`]);
    await new Promise((r) => holder.stdout.once('data', r));
    holder.kill('SIGKILL'); // its socket file stays behind
    await new Promise((r) => holder.once('exit', r));
    assert.equal(await askHolder(stale, secret), 'gone', 'a socket file left by a server that died');

    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket)); // accepts, never answers: a blocked event loop
    const busy = join(dir, 'busy.sock');
    await new Promise<void>((r) => silent.listen(busy, r));
    try {
      assert.equal(await askHolder(busy, secret), 'busy', 'a live holder is never taken for dead');
    } finally {
      held.forEach((s) => s.destroy());
      silent.close();
    }

    const answering = (answer: (nonce: string) => string) => createServer((socket) => socket.once('data', (d) => socket.end(answer(d.toString().trim()))));
    const genuine = answering((nonce) => `4242 ${createHmac('sha256', secret).update(nonce).digest('hex')}`);
    const live = join(dir, 'live.sock');
    await new Promise<void>((r) => genuine.listen(live, r));
    assert.equal(await askHolder(live, secret), 4242);
    assert.equal(await askHolder(live, randomBytes(32)), 'impostor', 'the proof is of this secret only');
    genuine.close();

    const liar = answering(() => '4242');
    const lying = join(dir, 'liar.sock');
    await new Promise<void>((r) => liar.listen(lying, r));
    assert.equal(await askHolder(lying, secret), 'impostor', 'a pid without the proof');
    liar.close();
  });

  // The attack: another local user reads the lock's name from /proc/net/unix (every user sees every abstract
  // name) while the server runs, and binds it once the server is gone, answering as a server would, or not at all.
  for (const squatter of ['answers with a pid', 'accepts and stays silent'] as const) {
    it(
      `another user squatting the lock's name (${squatter}) cannot keep the server from starting`,
      { skip: process.platform !== 'linux' || process.getuid?.() !== 0 ? 'Linux, as root (to run a process as another user)' : false },
      async () => {
        const stateDir = tempDir();
        const first = await startTestServer({ stateDir });
        const seen = abstractNamesOf(process.pid).filter((n) => n.startsWith('@agent-runtime-'));
        await first.close();
        assert.ok(seen.length > 0, 'the lock is an abstract socket, its name visible in /proc/net/unix');
        const script = `
        const net = require('net');
        let up = 0;
        for (const name of ${JSON.stringify(seen.map((n) => `\0${n.slice(1)}`))}) {
          net.createServer((s) => { ${squatter === 'answers with a pid' ? "s.end('1')" : 's.on("error", () => {})'} })
            .listen(name, () => { if (++up === ${seen.length}) console.log('up'); });
        }`;
        const other = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
        try {
          await new Promise((r, j) => {
            other.stdout.once('data', r);
            other.once('exit', (code) => j(new Error(`the squatter exited ${code}`)));
          });
          const second = await startTestServer({ stateDir }, { stateLockWaitMs: 3000 });
          try {
            assert.equal((await second.run({ command: 'echo started' })).stdout, 'started\n');
            assert.equal(await probeStateDir(stateDir), process.pid, 'the lock answers from its new name');
          } finally {
            await second.close();
          }
        } finally {
          other.kill('SIGKILL');
        }
      },
    );
  }

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

/** The abstract socket names listening in this network namespace whose sockets `pid` holds (as /proc shows them). */
function abstractNamesOf(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[7]?.startsWith('@') && inodes.has(f[6]))
    .map((f) => f[7].replace(/@+$/, '')); // node pads the name with NULs, which /proc shows as `@`
}
