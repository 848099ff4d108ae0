// The command API in cmd.exe's dialect, with the server running as a Windows program (Windows Node in Wine).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../helpers/server';
import { KEY, notUnderWine, setup, tempDir, winPath, WineMachine, type WindowsServer } from './wine';

let machine: WineMachine;
let api: WindowsServer;

before(async () => {
  machine = new WineMachine();
  api = await machine.startServer();
});
after(() => machine?.shutdown());

test('the server runs as win32 and jobs go through cmd.exe: output and exit codes', async () => {
  const os = await api.run({ command: 'echo %OS%' });
  assert.equal(os.stdout, 'Windows_NT\r\n');
  const hi = await api.run({ command: 'echo hi& ver' });
  assert.equal(hi.status, 'completed');
  assert.equal(hi.exitCode, 0);
  assert.match(hi.stdout, /^hi\r\n/);
  assert.match(hi.stdout, /Windows|Wine/i);
  const three = await api.run({ command: 'exit /b 3' });
  assert.equal(three.status, 'failed');
  assert.equal(three.exitCode, 3);
  assert.equal(three.endReason, 'exit');
  const err = await api.run({ command: 'echo oops 1>&2& exit /b 1' });
  assert.equal(err.exitCode, 1);
  assert.match(err.stderr, /oops/);
});

// Windows Node stands in for a program that reads stdin (Wine's own sort, find and `set /p` differ from Windows').
const NODE = `"${winPath(setup.NODE_EXE)}"`;

test('a command line that starts and ends with a quoted word reaches cmd.exe whole', async () => {
  const j = await api.run({ command: `${NODE} -e "console.log(process.argv.slice(1).join('|'))" "a b" "c"` });
  assert.equal(j.status, 'completed', j.stderr);
  assert.equal(j.stdout.trim(), 'a b|c');
});

test('stdin: /input feeds the job, eof ends it; a nudge is a newline', async () => {
  const cat = await api.call('POST', '/exec', { command: `${NODE} -e "process.stdin.pipe(process.stdout)"` });
  await eventually(async () => (await api.call('GET', `/jobs/${cat.body.jobId}`)).body.processAlive, 20_000, 'the job to run');
  await api.call('POST', `/jobs/${cat.body.jobId}/input`, { data: 'pear\r\napple\r\n', eof: true });
  const echoed = await api.waitJob(cat.body.jobId);
  assert.equal(echoed.exitCode, 0);
  assert.equal(echoed.stdout, 'pear\r\napple\r\n');

  const prompt = await api.call('POST', '/exec', {
    command: `${NODE} -e "process.stdin.once('data', (d) => { console.log('got', JSON.stringify(String(d))); process.exit(0); })"`,
  });
  await eventually(async () => (await api.call('GET', `/jobs/${prompt.body.jobId}`)).body.processAlive, 20_000, 'the job to run');
  const nudge = await api.call('POST', `/jobs/${prompt.body.jobId}/nudge`);
  assert.equal(nudge.body.nudged, true);
  const done = await api.waitJob(prompt.body.jobId);
  assert.equal(done.status, 'completed');
  assert.match(done.stdout, /^got "(\\r)?\\n"/); // JSON of the newline the nudge wrote
});

test('a timeout and a cancel end the job now, not when its command would have ended', async () => {
  // ping -n 30 runs 29 s: a job that ends within 15 s was ended by the server.
  const timedOut = await api.call('POST', '/exec', { command: 'ping -n 30 127.0.0.1 > nul', timeout: 2 });
  const t = await api.waitJob(timedOut.body.jobId, 60_000);
  assert.equal(t.status, 'timeout');
  assert.equal(t.timedOut, true);
  assert.ok(t.durationMs < 15_000, `ended after ${t.durationMs} ms`);

  const cancelled = await api.call('POST', '/exec', { command: 'ping -n 30 127.0.0.1 > nul' });
  await eventually(async () => (await api.call('GET', `/jobs/${cancelled.body.jobId}`)).body.processAlive, 20_000, 'the job to run');
  const c = await api.call('POST', `/jobs/${cancelled.body.jobId}/cancel`);
  assert.ok(c.status === 200 || c.status === 202, `cancel -> ${c.status}`);
  const j = await api.waitJob(cancelled.body.jobId, 60_000);
  assert.equal(j.status, 'failed');
  assert.equal(j.cancelled, true);
  assert.equal(j.endReason, 'cancelled');
  assert.ok(j.durationMs < 15_000, `ended after ${j.durationMs} ms`);
  // Wine's taskkill has no /T: the server falls back to ending cmd.exe itself, and the ping it started
  // runs on here. On Windows `taskkill /T /F` ends the tree.
  notUnderWine("the children of a job's cmd.exe ending with it (taskkill /T)", 'test/core/platform.test.ts (the taskkill call)');
});

test('UTF-8: a command line with non-ASCII text reaches the program, and its UTF-8 output comes back whole', async () => {
  const j = await api.run({ command: `${NODE} -e "console.log(process.argv[1])" "grüße 日本"` });
  assert.equal(j.exitCode, 0);
  assert.equal(j.stdout, 'grüße 日本\n');
  // Wine's cmd.exe has no console here: its chcp answers "Invalid code page" and its builtins print
  // through code page 0, so cmd's own output after `chcp 65001` is not what Windows prints.
  notUnderWine('cmd.exe builtins printing UTF-8 after `chcp 65001`', 'a Windows run only (docs/windows.md)');
});

test('workdir: a folder with spaces, given as a drive-letter path, and C: of the machine', async () => {
  const spaced = join(tempDir(), 'a folder with spaces');
  mkdirSync(spaced);
  const j = await api.run({ command: 'cd', workdir: winPath(spaced) });
  assert.equal(j.exitCode, 0);
  assert.equal(j.stdout.trim().toLowerCase(), winPath(spaced).toLowerCase());
  const c = await api.run({ command: 'echo %CD%', workdir: 'C:\\windows' });
  assert.equal(c.stdout.trim().toLowerCase(), 'c:\\windows');
  const missing = await api.call('POST', '/exec', { command: 'echo x', workdir: 'C:\\no such folder' });
  assert.equal(missing.status, 400);
});

test('env names in any case: an overlay replaces the variable whatever its spelling', async () => {
  const j = await api.run({ command: 'set FOO& echo [%Path%]', env: { foo: 'lower', path: 'C:\\only' } });
  assert.equal(j.exitCode, 0);
  const lines = j.stdout.split(/\r?\n/).filter(Boolean);
  assert.deepEqual(
    lines.filter((l: string) => /^foo=/i.test(l)),
    ['foo=lower'],
  );
  assert.match(j.stdout, /\[C:\\only\]/);
});

test("the API key never reaches a job, set in the server's environment", async () => {
  const j = await api.run({ command: 'set' });
  assert.equal(j.exitCode, 0);
  assert.ok(j.stdout.includes('OS=Windows_NT'), j.stdout);
  assert.ok(!j.stdout.includes(KEY), 'the key is in the job env');
  assert.doesNotMatch(j.stdout, /^(agent_runtime|devpilot_agent)_api_key=/im);
});
