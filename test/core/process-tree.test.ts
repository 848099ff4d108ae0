// The process module (src/common/process.ts): a tree's exit, its end with a grace, what a leader leaves
// behind, and its guard. Real processes on POSIX; the Windows branches with win32 injected (usePlatform),
// where the processes are stand-ins that record what Windows would be asked to do.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { usePlatform } from '../../src/common/platform';
import { startProgram, startShell, type TreeGuard } from '../../src/common/process';
import { eventually, processesWith } from '../helpers/server';

/** A guard that records what it watches and what it was told to release. */
function recordingGuard() {
  const watched: number[] = [];
  const released: number[] = [];
  const guard: TreeGuard = {
    watch(pid) {
      watched.push(pid);
      return () => released.push(pid);
    },
  };
  return { guard, watched, released };
}

const opts = { cwd: process.cwd(), env: process.env, stdio: 'ignore' as const };
/** A sleep's duration that no other process here has: its command line finds it. */
const marker = () => `1000.${randomBytes(4).readUInt32BE()}`;

describe('process trees (POSIX)', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it("tells the leader's exit code and signal", async () => {
    assert.deepEqual(await startShell('exit 3', { ...opts, leftovers: 'keep' }).exited, { code: 3, signal: null });
    const tree = startShell('sleep 30', { ...opts, leftovers: 'keep' });
    await tree.end(5000);
    assert.deepEqual(await tree.exited, { code: null, signal: 'SIGTERM' });
    assert.equal(tree.alive(), false);
  });

  it('a program that cannot start exits with the error, and is never guarded', async () => {
    const { guard, watched } = recordingGuard();
    const tree = startProgram(`no-such-program-${randomBytes(4).toString('hex')}`, [], { ...opts, guard, leftovers: 'keep' });
    const exit = await tree.exited;
    assert.equal(exit.code, null);
    assert.match(String(exit.error?.message), /ENOENT/);
    assert.deepEqual(watched, []);
    await tree.end(100); // nothing to end
  });

  it("leftovers 'kill': what the leader left in its group dies with it, and the guard is released", async () => {
    const m = marker();
    const { guard, watched, released } = recordingGuard();
    const tree = startShell(`sleep ${m} &\necho`, { ...opts, guard, leftovers: 'kill' });
    assert.deepEqual(watched, [tree.pid]);
    assert.deepEqual(await tree.exited, { code: 0, signal: null });
    assert.deepEqual(released, [tree.pid]);
    await eventually(() => processesWith(m).length === 0, 5_000, 'the leftover to be ended');
  });

  it("leftovers 'keep': they run on until end(), which gives TERM and then KILL after the grace", async () => {
    const m = marker();
    const { guard, released } = recordingGuard();
    // One leftover ends on TERM, the other ignores it.
    const tree = startShell(`sleep ${m} &\nsh -c 'trap "" TERM; sleep ${m}; true' &\necho`, { ...opts, guard, leftovers: 'keep' });
    await tree.exited;
    await eventually(() => processesWith(m).length === 3, 5_000, 'the leftovers to run');
    assert.deepEqual(released, [], 'watched while something of it runs');
    const started = Date.now();
    await tree.end(300);
    assert.equal(processesWith(m).length, 0);
    assert.ok(Date.now() - started >= 300, 'the stubborn one got its grace');
    assert.deepEqual(released, [tree.pid], 'released once');
    await tree.end(300);
    assert.deepEqual(released, [tree.pid], 'still once');
  });

  it('end() while the leader runs ends the whole tree, then resolves with the leader gone', async () => {
    const m = marker();
    const tree = startShell(`sleep ${m} & sleep ${m}; true`, { ...opts, leftovers: 'keep' });
    await eventually(() => processesWith(m).length === 3, 5_000, 'the shell and its two sleeps to run');
    await tree.end(2000);
    assert.equal(tree.alive(), false);
    assert.equal(processesWith(m).length, 0);
  });

  it('killNow() ends the tree at once, without a grace', async () => {
    const m = marker();
    const tree = startShell(`trap "" TERM; sleep ${m}`, { ...opts, leftovers: 'keep' });
    await eventually(() => processesWith(m).length >= 1, 5_000, 'the tree to run');
    tree.killNow();
    assert.equal((await tree.exited).signal, 'SIGKILL');
    await eventually(() => processesWith(m).length === 0, 5_000, 'the tree to be gone');
  });
});

describe('process trees (Windows, injected)', () => {
  let restore: (() => void) | undefined;
  afterEach(() => {
    restore?.();
    restore = undefined;
  });

  /** win32 in force; children are emitters with a pid, taskkill and TerminateProcess are recorded. */
  function asWindows() {
    const calls = { spawn: [] as unknown[][], taskkill: [] as string[][], kill: [] as unknown[][] };
    const children: (EventEmitter & { pid: number })[] = [];
    restore = usePlatform('win32', {
      spawn: ((...args: unknown[]) => {
        calls.spawn.push(args);
        const child = Object.assign(new EventEmitter(), { pid: 5000 + children.length });
        children.push(child);
        return child;
      }) as never,
      spawnSync: ((_file: string, args: string[]) => {
        calls.taskkill.push(args);
        // taskkill ends the tree: the leader's exit follows, as a 1 from TerminateProcess would.
        const child = children.find((c) => String(c.pid) === args[1]);
        setImmediate(() => child?.emit('exit', 1, null));
        return { status: 0 };
      }) as never,
      kill: (...args) => {
        calls.kill.push(args);
        return true;
      },
    });
    return { calls, children };
  }

  it('a shell command starts through cmd.exe, with no group to lead and a hidden window', () => {
    const { calls } = asWindows();
    startShell('echo hi', { ...opts, leftovers: 'kill' });
    const [file, args, o] = calls.spawn[0] as [string, string[], Record<string, unknown>];
    assert.match(file, /cmd\.exe$/i);
    assert.deepEqual(args, ['/d', '/s', '/c', '"echo hi"']);
    assert.equal(o.detached, false);
    assert.equal(o.windowsHide, true);
  });

  it("at the leader's exit nothing is signalled (no group to find), and the guard is released at once", async () => {
    const { calls, children } = asWindows();
    for (const leftovers of ['kill', 'keep'] as const) {
      const { guard, released } = recordingGuard();
      const tree = startShell('x', { ...opts, guard, leftovers });
      children.at(-1)!.emit('exit', 0, null);
      assert.deepEqual(await tree.exited, { code: 0, signal: null });
      assert.deepEqual(released, [tree.pid], leftovers);
      await tree.end(5000);
      assert.deepEqual(calls.taskkill, [], 'an exited tree is not ended again');
    }
    assert.deepEqual(calls.kill, []);
  });

  it('end() of a running tree is taskkill /T /F at once, whatever the grace, and waits for the exit', async () => {
    const { calls } = asWindows();
    const { guard, released } = recordingGuard();
    const tree = startShell('x', { ...opts, guard, leftovers: 'keep' });
    await tree.end(60_000);
    assert.deepEqual(calls.taskkill, [['/PID', String(tree.pid), '/T', '/F']]);
    assert.equal(tree.alive(), false);
    assert.deepEqual(released, [tree.pid]);
  });
});
