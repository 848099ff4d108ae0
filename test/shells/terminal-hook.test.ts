// The hook an ACP job uses to run `terminal/create` inside a named persistent session.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { SessionManager } from '../../src/server/modes/persistent-shell/manager';
import { commandLine, SessionTerminal } from '../../src/server/modes/persistent-shell/terminal-hook';
import { catalog, pidAlive, run } from './helpers';

const m = new SessionManager(catalog, { maxSessions: 8, idleTimeoutSeconds: 0, killGraceMs: 500 });
after(() => m.closeAll());
const base = { cwd: tmpdir(), env: process.env };

describe('session terminals (ACP terminal/* in a named session)', () => {
  test('run in the session the /exec jobs use, with its state; args are quoted', async () => {
    await run(m, 'shared', 'bash', 'export TOOLCHAIN=activated; greet() { echo "hi $1"; }');
    const t = new SessionTerminal(m, { ...base, sessionKey: 'shared', command: 'greet', args: ["it's $HOME", 'a b'] });
    const exit = await t.waitForExit();
    assert.deepEqual(exit, { exitCode: 0, signal: null });
    assert.deepEqual(t.output(), { output: "hi it's $HOME\n", truncated: false, exitStatus: exit });
    const env = new SessionTerminal(m, { ...base, sessionKey: 'shared', shell: 'bash', command: 'printf "%s %s" "$TOOLCHAIN" out; printf err >&2; exit 4' });
    assert.deepEqual(await env.waitForExit(), { exitCode: 4, signal: null });
    // stdout and stderr come through two pipes: the order in which they arrive is the machine's.
    assert.ok(['activated outerr', 'erractivated out'].includes(env.output().output), env.output().output);
  });

  test('keeps only the last outputByteLimit bytes, cut at a character boundary', async () => {
    const t = new SessionTerminal(m, { ...base, sessionKey: 'limit', shell: 'sh', command: "printf 'aaaa€€€'", outputByteLimit: 7 });
    await t.waitForExit();
    // 'aaaa€€€' is 13 bytes; the last 7 start inside the first €: one partial byte is skipped.
    assert.deepEqual([t.output().output, t.output().truncated], ['€€', true]);
  });

  test('kill ends the command and the shell; the next command gets a fresh one', async () => {
    const t = new SessionTerminal(m, { ...base, sessionKey: 'kill', shell: 'bash', command: 'echo up; sleep 60' });
    const deadline = Date.now() + 20000;
    while (t.output().output !== 'up\n' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const pid = m.get('kill')!.info().pid!;
    t.kill();
    assert.deepEqual(await t.waitForExit(), { exitCode: null, signal: 'SIGTERM' });
    assert.equal(pidAlive(pid), false);
    const next = await run(m, 'kill', 'bash', 'echo again');
    assert.deepEqual([next.stdout, next.result.freshProcess], ['again\n', true]);
    t.release();
    assert.equal(t.output().output, '');
  });

  test('unknown shells are refused', () => {
    assert.throws(() => new SessionTerminal(m, { ...base, sessionKey: 'x', shell: 'tcsh', command: 'true' }), /unsupported shell: tcsh/);
  });

  test('command lines quote arguments for each shell', () => {
    assert.equal(commandLine('bash', 'ls', ['-l', "it's"]), "ls '-l' 'it'\\''s'");
    assert.equal(commandLine('fish', 'ls', ["a'b\\c"]), "ls 'a\\'b\\\\c'");
    assert.equal(commandLine('pwsh', 'C:/Program Files/x.exe', ["it's"]), "& 'C:/Program Files/x.exe' 'it''s'");
    assert.equal(commandLine('bash', 'echo hi', []), 'echo hi');
  });
});
