// Persistent shells in cmd.exe, with the server running as a Windows program (Windows Node in Wine).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../helpers/server';
import { KEY, WineMachine, type WindowsServer } from './wine';

let machine: WineMachine;
let api: WindowsServer;
before(async () => {
  machine = new WineMachine();
  api = await machine.startServer();
});
after(() => machine?.shutdown());

const inShell = (command: string, extra: Record<string, unknown> = {}) =>
  api.run({ mode: 'persistent_shell', sessionKey: 'cmd-session', shell: 'cmd', command, timeout: 30, ...extra });

test('a cmd session keeps its folder and variables; output, stderr and exit codes per command', async () => {
  const first = await inShell('echo hi');
  assert.equal(first.status, 'completed', JSON.stringify(first));
  assert.equal(first.stdout, 'hi\r\n', 'no banner, no prompt, no echoed command');
  assert.equal((await inShell('cd /d C:\\windows& set FOO=bar')).exitCode, 0);
  const state = await inShell('echo %CD% %FOO%');
  assert.equal(state.stdout, 'C:\\windows bar\r\n');
  const three = await inShell('exit /b 3');
  assert.equal(three.status, 'failed');
  assert.equal(three.exitCode, 3);
  const after3 = await inShell('echo after');
  assert.equal(after3.exitCode, 0, 'the status of an earlier command does not leak into the next');
  const err = await inShell('echo to-stderr 1>&2');
  assert.match(err.stderr, /to-stderr/);
  assert.equal(err.stdout, '');
  const session = await api.call('GET', '/sessions/cmd-session');
  assert.equal(session.status, 200);
  assert.equal(session.body.shell, 'cmd');
  assert.equal(session.body.processAlive, true);
});

test('a cmd session: a nudge answers a prompt; other input is refused (stdin carries the commands); the key stays out', async () => {
  const r = await api.call('POST', '/exec', {
    mode: 'persistent_shell',
    sessionKey: 'cmd-session',
    shell: 'cmd',
    command: 'set /p answer=\necho done',
    timeout: 30,
  });
  await eventually(async () => (await api.call('GET', `/jobs/${r.body.jobId}`)).body.processAlive, 20_000, 'the command to run');
  const refused = await api.call('POST', `/jobs/${r.body.jobId}/input`, { data: 'text' });
  assert.ok(refused.status >= 400 && refused.status < 500, `input -> ${refused.status}`);
  assert.equal((await api.call('POST', `/jobs/${r.body.jobId}/nudge`)).body.nudged, true);
  const done = await api.waitJob(r.body.jobId);
  assert.match(done.stdout, /done/);
  const env = await inShell('set');
  assert.ok(env.stdout.includes('OS=Windows_NT'));
  assert.ok(!env.stdout.includes(KEY), 'the key is in the shell');
});

test('a cmd session: a timed-out command ends the shell, the next command gets a fresh one', async () => {
  const slow = await inShell('ping -n 30 127.0.0.1 > nul', { timeout: 2 });
  assert.equal(slow.status, 'timeout');
  assert.ok(slow.durationMs < 15_000, `ended after ${slow.durationMs} ms`);
  const fresh = await inShell('echo [%FOO%]');
  assert.equal(fresh.exitCode, 0);
  assert.equal(fresh.stdout, '[]\r\n', 'a new shell: the variable is gone (undefined, it expands to nothing in a batch)');
  const del = await api.call('DELETE', '/sessions/cmd-session');
  assert.equal(del.status, 200);
});
