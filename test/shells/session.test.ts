// The session manager with real shells: state across commands, exact boundaries, order, limits.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, realpathSync } from 'node:fs';
import { SessionManager } from '../../src/server/modes/persistent-shell/manager';
import { commandLine } from '../../src/server/modes/persistent-shell/terminal-hook';
import { catalog, pidAlive, POSIX_SHELLS, run, seed, start, tempDir, until } from './helpers';

const dirs: string[] = [];
const managers: SessionManager[] = [];
function manager(limits: Partial<ConstructorParameters<typeof SessionManager>[1]> = {}): SessionManager {
  const m = new SessionManager(catalog, { maxSessions: 32, idleTimeoutSeconds: 0, killGraceMs: 500, ...limits });
  managers.push(m);
  return m;
}
function dir(): string {
  const d = realpathSync(tempDir());
  dirs.push(d);
  return d;
}
after(async () => {
  await Promise.all(managers.map((m) => m.closeAll()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The same steps in each shell's syntax. */
const syntax = {
  posix: {
    setState: (d: string) => `cd '${d}'; export GREETING=hello; PLAIN=kept; greet() { echo "$GREETING from $(pwd)"; }; alias hi='echo alias-ok'`,
    useState: 'greet; hi; echo "$PLAIN"',
    failWithStderr: 'echo out; echo err >&2; (exit 42)',
  },
  fish: {
    setState: (d: string) => `cd '${d}'; set -gx GREETING hello; set PLAIN kept; function greet; echo "$GREETING from "(pwd); end; alias hi='echo alias-ok'`,
    useState: 'greet; hi; echo "$PLAIN"',
    failWithStderr: 'echo out; echo err >&2; sh -c "exit 42"',
  },
};

for (const shell of POSIX_SHELLS) {
  const installed = catalog.executable(shell) !== undefined;
  const s = shell === 'fish' ? syntax.fish : syntax.posix;
  describe(`persistent ${shell}`, { skip: installed ? false : `${shell} is not installed` }, () => {
    test('keeps cwd, variables, functions and aliases between commands', async () => {
      const m = manager();
      const d = dir();
      const first = await run(m, 'k', shell, s.setState(d));
      assert.equal(first.result.exitCode, 0, first.stderr);
      assert.equal(first.result.freshProcess, true);
      const second = await run(m, 'k', shell, s.useState);
      assert.equal(second.stdout, `hello from ${d}\nalias-ok\nkept\n`);
      assert.equal(second.stderr, '');
      assert.equal(second.result.freshProcess, false);
    });

    test('separates stdout, stderr and the exit code', async () => {
      const m = manager();
      const r = await run(m, 'k', shell, s.failWithStderr);
      assert.deepEqual([r.stdout, r.stderr, r.result.exitCode, r.result.ending], ['out\n', 'err\n', 42, 'exit']);
      const ok = await run(m, 'k', shell, 'echo fine');
      assert.deepEqual([ok.stdout, ok.stderr, ok.result.exitCode], ['fine\n', '', 0]);
    });

    test('passes output through exactly: multi-byte, binary, no final newline, large', async () => {
      const m = manager();
      const text = 'héllo wörld 世界 🎉';
      const r = await run(m, 'k', shell, `printf '%s' '${text}'`);
      assert.equal(r.stdout, text);
      const bin = await run(m, 'k', shell, "printf '\\001\\002\\377\\376\\036\\012\\000x'");
      assert.deepEqual([...bin.out], [1, 2, 255, 254, 0x1e, 10, 0, 0x78]);
      const big = await run(m, 'k', shell, 'head -c 3000000 /dev/zero | tr "\\000" "a"; echo; echo tail >&2');
      assert.equal(big.out.length, 3_000_001);
      assert.ok(big.out.subarray(0, 3_000_000).every((b) => b === 0x61));
      assert.equal(big.stderr, 'tail\n');
    });

    test('arguments quoted for it come back verbatim', async () => {
      const m = manager();
      const words = ["it's", 'a\\b\\', '$HOME', '`id`', '"q"', '* ?', 'line\nbreak', 'ünï €', ''];
      const r = await run(m, 'k', shell, commandLine(shell, 'printf', ['%s|', ...words]));
      assert.equal(r.stdout, words.map((w) => `${w}|`).join(''));
    });
  });
}

describe('persistent bash', () => {
  test('output that looks like any terminator cannot end a command early', async () => {
    const m = manager();
    await run(m, 'k', 'bash', 'true');
    // `$__ar_end` now holds the previous command's real terminator; print it, with a status after it,
    // on both streams, plus lookalikes: a fresh record separator + 32 hex digits and the seed's marker.
    const fake = '\x1e' + 'ab'.repeat(16);
    const cmd = `printf '%s0\\n' "$__ar_end"; printf '%s' "$__ar_end" >&2; printf '${fake}7\\n'; echo "__DEVPILOT_DONE__deadbeef:0"; set >/dev/null; echo end`;
    const r = await run(m, 'k', 'bash', cmd);
    assert.equal(r.result.exitCode, 0);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /^\x1e[0-9a-f]{32}0$/);
    assert.deepEqual(lines.slice(1), [`${fake}7`, '__DEVPILOT_DONE__deadbeef:0', 'end', '']);
    assert.match(r.stderr, /^\x1e[0-9a-f]{32}$/);
  });

  test("xtrace and user functions named like the driver's builtins do not disturb it", async () => {
    const m = manager();
    const a = await run(m, 'k', 'bash', 'read() { echo hijacked; }; printf() { echo hijacked; }; set -x; echo traced');
    assert.equal(a.stdout, 'traced\n');
    assert.match(a.stderr, /\+ echo traced/);
    assert.doesNotMatch(a.stderr, /\x1e/);
    const b = await run(m, 'k', 'bash', 'echo again');
    assert.equal(b.stdout, 'again\n');
    assert.match(b.stderr, /\+ echo again/); // still tracing: the user's setting is kept
    assert.doesNotMatch(b.stderr, /\x1e/);
  });

  test('streams output while the command runs', async () => {
    const m = manager();
    const s = start(m, 'k', 'bash', 'echo first; echo warn >&2; read -r _ignored; echo second');
    await until(() => s.collected().out.toString() === 'first\n' && s.collected().err.toString() === 'warn\n', 'live output');
    assert.equal(s.handle.running(), true);
    assert.deepEqual(s.handle.write('go\n', false), { ok: true });
    const r = await s.handle.done;
    assert.equal(r.exitCode, 0);
    assert.equal(s.collected().out.toString(), 'first\nsecond\n');
  });

  test('stdin reaches the running command, not the control channel; eof is refused', async () => {
    const m = manager();
    const s = start(m, 'k', 'bash', 'read -r a; read -r b; echo "got [$a] [$b]"');
    await until(() => s.handle.running(), 'command running');
    assert.equal(s.handle.write('x', true).ok, false);
    s.handle.write('one\n', false);
    s.handle.write('\n', false); // a nudge
    const r = await s.handle.done;
    assert.equal(r.exitCode, 0);
    assert.equal(s.collected().out.toString(), 'got [one] []\n');
    assert.equal(s.handle.write('late\n', false).ok, false);
  });

  test('commands sent together run one at a time, in order, each with only its own output', async () => {
    const m = manager();
    const order: string[] = [];
    const cmds = ['sleep 0.3; echo A; echo a >&2', 'echo B; echo b >&2; (exit 3)', 'echo C; echo c >&2'];
    const started = cmds.map((c) => start(m, 'k', 'bash', c));
    assert.equal(started[1].handle.running(), false);
    assert.deepEqual(started[1].handle.write('x\n', false).ok, false);
    await until(() => m.get('k')!.info().queuedCommands === 2, 'two waiting');
    const results = await Promise.all(started.map((s, i) => s.handle.done.then((r) => (order.push(String(i)), r))));
    assert.deepEqual(order, ['0', '1', '2']);
    assert.deepEqual(
      results.map((r) => r.exitCode),
      [0, 3, 0],
    );
    assert.deepEqual(
      started.map((s) => s.collected().out.toString()),
      ['A\n', 'B\n', 'C\n'],
    );
    assert.deepEqual(
      started.map((s) => s.collected().err.toString()),
      ['a\n', 'b\n', 'c\n'],
    );
  });

  test('a waiting command can be cancelled without touching the running one', async () => {
    const m = manager();
    const first = start(m, 'k', 'bash', 'sleep 0.5; echo first');
    const second = start(m, 'k', 'bash', 'echo second');
    second.handle.cancel();
    const r2 = await second.handle.done;
    assert.equal(r2.ending, 'cancelled');
    assert.equal(second.collected().out.length, 0);
    const r1 = await first.handle.done;
    assert.deepEqual([r1.exitCode, first.collected().out.toString(), r1.freshProcess], [0, 'first\n', true]);
  });

  test('a timeout kills what the command started; the next command gets a new shell with seed state and bootstrap', async () => {
    const m = manager();
    const d = dir();
    const sd = seed(d, { SEEDED: 'from-seed' });
    const boot = await run(m, 'k', 'bash', 'export BOOTED=yes; helper() { echo helper-ok; }', {
      seed: sd,
      bootstrapCommand: 'export BOOTED=yes; helper() { echo helper-ok; }',
      bootstrapCurrentCommand: true,
    });
    assert.equal(boot.result.exitCode, 0);
    const pidBefore = m.get('k')!.info().pid!;
    const s = start(m, 'k', 'bash', `cd /; export SEEDED=changed; sleep 300 & echo $! > '${d}/bg.pid'; echo started; sleep 300`, {
      seed: sd,
      timeoutMs: 2000,
    });
    const r = await s.handle.done;
    assert.deepEqual([r.timedOut, r.ending, r.exitCode], [true, 'killed', null]);
    assert.equal(s.collected().out.toString(), 'started\n');
    assert.equal(pidAlive(pidBefore), false);
    const bgPid = Number(readFileSync(`${d}/bg.pid`, 'utf8'));
    await until(() => !pidAlive(bgPid), 'background process killed');
    assert.equal(m.get('k')!.info().status, 'stopped');

    const next = await run(m, 'k', 'bash', 'pwd; echo "$SEEDED $BOOTED"; helper');
    assert.equal(next.stdout, `${d}\nfrom-seed yes\nhelper-ok\n`);
    assert.equal(next.result.freshProcess, true);
    // The bootstrap runs once per shell process.
    const again = await run(m, 'k', 'bash', 'export BOOTED=changed-later; echo "$BOOTED"');
    assert.equal(again.stdout, 'changed-later\n');
    const still = await run(m, 'k', 'bash', 'echo "$BOOTED"');
    assert.equal(still.stdout, 'changed-later\n');
  });

  test("a failing bootstrap stops the command and says why; its stdout is not the command's", async () => {
    const m = manager();
    const r = await run(m, 'k', 'bash', 'echo should-not-run', { bootstrapCommand: 'echo boot-out; echo boot-err >&2; false' });
    assert.equal(r.result.exitCode, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^boot-err\n\[agent-runtime: bootstrap command failed with exit code 1; the command was not run\]\n$/);
    const next = await run(m, 'k', 'bash', 'echo runs');
    assert.equal(next.stdout, 'runs\n');
  });

  test('a shell that exits ends its command with its code and is recreated on the next one', async () => {
    const m = manager();
    await run(m, 'k', 'bash', 'export GONE=1');
    const r = await run(m, 'k', 'bash', 'echo bye; exit 3');
    assert.deepEqual([r.stdout, r.result.exitCode, r.result.ending], ['bye\n', 3, 'shell-exit']);
    const next = await run(m, 'k', 'bash', 'echo "[${GONE:-}]"');
    assert.deepEqual([next.stdout, next.result.freshProcess], ['[]\n', true]);
  });

  test('delete ends the running command and the shell, and forgets the session', async () => {
    const m = manager();
    const s = start(m, 'k', 'bash', 'echo running; sleep 300');
    await until(() => s.collected().out.toString() === 'running\n', 'command running');
    const pid = m.get('k')!.info().pid!;
    assert.equal(await m.delete('k'), true);
    const r = await s.handle.done;
    assert.equal(r.ending, 'killed');
    assert.equal(pidAlive(pid), false);
    assert.equal(m.get('k'), undefined);
    assert.equal(await m.delete('k'), false);
    assert.deepEqual(m.list(), []);
  });

  test('sessions idle past the timeout are ended; busy ones are not', async () => {
    const m = manager({ idleTimeoutSeconds: 1 });
    await run(m, 'idle', 'bash', 'true');
    const busy = start(m, 'busy', 'bash', 'sleep 2.5; echo done');
    const pid = m.get('idle')!.info().pid!;
    await until(() => m.get('idle') === undefined, 'idle session expired');
    await until(() => !pidAlive(pid), 'idle shell ended');
    assert.ok(m.get('busy'), 'a session running a command is not idle');
    const r = await busy.handle.done;
    assert.equal(busy.collected().out.toString(), 'done\n');
    assert.equal(r.exitCode, 0);
  });

  test('max sessions refuses a new key but not an existing one; another shell under a key is refused', async () => {
    const m = manager({ maxSessions: 2 });
    await run(m, 'a', 'bash', 'true');
    await run(m, 'b', 'sh', 'true');
    assert.throws(
      () => m.check('c', 'bash'),
      (e: Error & { status?: number }) => e.status === 409 && /maximum persistent shell sessions reached \(2\)/.test(e.message),
    );
    assert.doesNotThrow(() => m.check('a', 'bash'));
    assert.throws(() => m.check('a', 'sh'), /session 'a' already uses shell 'bash'/);
    await m.delete('a');
    assert.doesNotThrow(() => m.check('c', 'bash'));
  });

  test('session info reports state as the seed did', async () => {
    const m = manager();
    const s = start(m, 'k', 'bash', 'echo hi; sleep 300');
    await until(() => s.collected().out.length > 0, 'output');
    const busy = m.get('k')!.info();
    assert.equal(busy.status, 'running');
    assert.equal(busy.activeCommand, true);
    assert.equal(busy.processAlive, true);
    assert.equal(typeof busy.lastOutputAt, 'number');
    s.handle.cancel();
    await s.handle.done;
    const after = m.get('k')!.info();
    assert.deepEqual([after.status, after.activeCommand, after.processAlive], ['stopped', false, false]);
  });
});
