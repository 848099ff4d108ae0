// The wrapper around a small stand-in server (fixtures/child.mjs): restarts with backoff, updates on
// exit 42, gives up on repeated fast failures, and stops on SIGTERM/SIGINT (as a real process).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { defaultUpdateCommand, Wrapper, type WrapperOptions } from '../../src/server/update/wrapper';
import { serverArgs } from '../../src/server/cli';
import type { Logger } from '../../src/server/log';
import { alive, FIXTURES, removeDir, tempDir, waitFor } from './helpers';

const dirs: string[] = [];
const pids: number[] = [];
after(() => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of dirs) removeDir(d);
});

function childDir(): string {
  const d = tempDir('wrapper');
  dirs.push(d);
  return d;
}

function starts(dir: string): { pid: number; at: number; wrapped: string }[] {
  const p = join(dir, 'starts');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, at, wrapped] = l.split(' ');
      return { pid: Number(pid), at: Number(at), wrapped };
    });
}

function signals(dir: string): string[] {
  const p = join(dir, 'signals');
  return existsSync(p) ? readFileSync(p, 'utf8').trim().split('\n') : [];
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => lines.push(m);
  return { lines, debug: push, info: push, warn: push, error: push };
}

function wrapper(dir: string, plan: string, opts: Partial<WrapperOptions> = {}) {
  const logger = recordingLogger();
  const w = new Wrapper({
    command: process.execPath,
    args: [join(FIXTURES, 'child.mjs')],
    env: { ...process.env, FAKE_CHILD_DIR: dir, FAKE_CHILD_PLAN: plan },
    logger,
    handleSignals: false,
    ...opts,
    limits: { restartInitialMs: 100, restartMaxMs: 1000, stopGraceMs: 2000, ...opts.limits },
  });
  const restarts: number[] = [];
  const updates: { ok: boolean; code: number | null }[] = [];
  w.on('restart', (ms: number) => restarts.push(ms));
  w.on('update', (u) => updates.push(u));
  return { w, logger, restarts, updates };
}

describe('wrapper', () => {
  test('a server that keeps dying at once is restarted with growing waits, then given up on', async () => {
    const dir = childDir();
    const { w, logger, restarts } = wrapper(dir, '3', { limits: { maxFastFailures: 4 } });
    const code = await w.run();
    assert.equal(code, 3, "the wrapper exits with the server's code");
    const s = starts(dir);
    assert.equal(s.length, 4);
    assert.deepEqual(restarts, [100, 200, 400]);
    for (let i = 1; i < s.length; i++) assert.ok(s[i].at - s[i - 1].at >= restarts[i - 1], `start ${i} waited its backoff`);
    assert.ok(
      s.every((x) => x.wrapped === '1'),
      'the server knows it is supervised',
    );
    assert.match(logger.lines.at(-1)!, /died 4 times in a row within 60 s of starting \(last: code 3\); giving up/);
  });

  test('a server that ran a while restarts after the initial wait again', async () => {
    const dir = childDir();
    const { w, restarts } = wrapper(dir, '1@400,1@400,1@400,0', { limits: { fastFailureMs: 300, maxFastFailures: 1 } });
    assert.equal(await w.run(), 0, 'exit 0 ends the wrapper too');
    assert.deepEqual(restarts, [100, 100, 100]);
    assert.equal(starts(dir).length, 4);
  });

  test('exit 42 runs the update command and restarts, also when the update fails', async () => {
    const dir = childDir();
    const log = join(dir, 'updates');
    // First run of the update fails, the second succeeds.
    const updateCommand = `echo ran >> "${log}"; test "$(wc -l < "${log}")" -ge 2`;
    const { w, updates, restarts } = wrapper(dir, '42,42,0', { updateCommand });
    assert.equal(await w.run(), 0);
    assert.deepEqual(updates, [
      { ok: false, code: 1 },
      { ok: true, code: 0 },
    ]);
    assert.equal(starts(dir).length, 3, 'restarted after each update, without backoff');
    assert.deepEqual(restarts, []);
  });

  test('exit 42 without an update command: a clear warning, and the current version again', async () => {
    const dir = childDir();
    const { w, updates, logger } = wrapper(dir, '42,0');
    assert.equal(await w.run(), 0);
    assert.deepEqual(updates, [{ ok: false, code: null }]);
    assert.ok(logger.lines.some((l) => /set --update-command or AGENT_RUNTIME_UPDATE_COMMAND/.test(l)));
    assert.equal(starts(dir).length, 2);
  });

  test('a usage error (exit 2) is not restarted', async () => {
    const dir = childDir();
    const { w } = wrapper(dir, '2');
    assert.equal(await w.run(), 2);
    assert.equal(starts(dir).length, 1);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    test(`${sig} to the wrapper process stops the server gracefully, then the wrapper`, async () => {
      const dir = childDir();
      const proc = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, 'run-wrapper.ts'), '{}'], {
        env: { ...process.env, FAKE_CHILD_DIR: dir, FAKE_CHILD_PLAN: 'stay' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      pids.push(proc.pid!);
      let out = '';
      proc.stdout.on('data', (d) => (out += d));
      const child = await waitFor('the server to start', () => starts(dir)[0], 30000);
      pids.push(child.pid);
      proc.kill(sig);
      const [code] = await once(proc, 'exit');
      assert.equal(code, 0);
      assert.match(out, /exit 0/);
      assert.deepEqual(signals(dir), [`${child.pid} SIGTERM`], 'the server got SIGTERM from the wrapper');
      assert.equal(alive(child.pid), false);
      assert.equal(starts(dir).length, 1, 'no restart after a stop');
    });
  }

  test('a server that ignores SIGTERM is killed after the grace period', async () => {
    const dir = childDir();
    const proc = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, 'run-wrapper.ts'), JSON.stringify({ limits: { stopGraceMs: 500 } })], {
      env: { ...process.env, FAKE_CHILD_DIR: dir, FAKE_CHILD_PLAN: 'stubborn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pids.push(proc.pid!);
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    const child = await waitFor('the server to start', () => starts(dir)[0], 30000);
    pids.push(child.pid);
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0);
    assert.equal(alive(child.pid), false);
    assert.match(err, /did not stop within 500 ms; killing it/);
  });
});

describe('update command and server arguments', () => {
  test('the default upgrade targets the prefix of a global npm install, nothing else', () => {
    assert.equal(defaultUpdateCommand('/opt/node/lib/node_modules/agent-runtime', 'agent-runtime'), 'npm install -g agent-runtime@latest --prefix "/opt/node"');
    assert.equal(defaultUpdateCommand('/home/me/src/agent-runtime', 'agent-runtime'), undefined);
    assert.equal(defaultUpdateCommand('/x/node_modules/other', 'agent-runtime'), undefined);
  });

  test("the supervised server gets every argument but the wrapper's own", () => {
    assert.deepEqual(serverArgs(['--wrapper', '--port', '9000', '--update-command', 'npm i -g x', '--tunnel', '--update-command=y']), [
      '--port',
      '9000',
      '--tunnel',
    ]);
  });
});
