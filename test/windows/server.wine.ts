// The server as a Windows program (Windows Node in Wine): where it keeps its state by default, the key
// file, persistence across a restart, /health, ACP jobs with an agent run by Windows Node.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';
import { once } from 'node:events';
import WebSocket from 'ws';
import { eventually } from '../helpers/server';
import { notUnderWine, REPO, setup, tempDir, winPath, WineMachine } from './wine';

let machine: WineMachine;
/** Arguments that cmd.exe would read as syntax, or programs would parse apart, were they not escaped. */
const ARGS = ['a b', 'c&d|e', 'say "hi"', 'back\\', '(x) ^ <y> !z!', ''];
/** A percent sign cannot be escaped on cmd's command line: it reaches programs, not batch files, whole. */
const PERCENT = ['100%', '%OS%'];
before(() => {
  machine = new WineMachine();
});
after(() => machine?.shutdown());

test('without --state-dir the state lives in %LOCALAPPDATA%\\agent-runtime; the key file is there, and kept across a restart', async () => {
  const stateDir = join(machine.localAppData(), 'agent-runtime');
  assert.equal(existsSync(stateDir), false);
  const first = await machine.startServer([], { stateDir: null, env: {} });
  const keyFile = join(stateDir, 'api_key');
  const key = readFileSync(keyFile, 'utf8').trim();
  assert.ok(key.length >= 32, 'a generated key');
  assert.ok(!first.stderr().includes(key), 'the key is never printed in full');
  first.useKey(key);
  assert.equal((await first.call('GET', '/health')).body.authenticated, true);

  const done = await first.run({ command: 'echo kept' });
  const long = await first.call('POST', '/exec', { command: 'ping -n 60 127.0.0.1 > nul' });
  await eventually(async () => (await first.call('GET', `/jobs/${long.body.jobId}`)).body.processAlive, 20_000, 'the long job to run');
  first.kill(); // as a crash: no chance to record anything
  await first.exited;

  const second = await machine.startServer([], { stateDir: null, env: {} });
  assert.match(second.stderr(), /from the key file|api_key/i);
  second.useKey(key);
  const kept = await second.call('GET', `/jobs/${done.jobId}`);
  assert.equal(kept.status, 200);
  assert.equal(kept.body.stdout, 'kept\r\n');
  assert.equal(kept.body.exitCode, 0);
  const cut = await second.call('GET', `/jobs/${long.body.jobId}`);
  assert.equal(cut.body.status, 'failed');
  assert.equal(cut.body.interrupted, true);
  assert.equal(cut.body.endReason, 'interrupted');
  second.kill();
  await second.exited;
  notUnderWine("the key file's ACL (Windows keeps a profile's AppData to its user; Wine has no ACLs)", 'docs/windows.md');
});

test('/health tells what this Windows machine supports', async () => {
  const api = await machine.startServer();
  const { body } = await api.call('GET', '/health');
  assert.equal(body.authenticated, true);
  assert.match(body.cwd, /^[A-Z]:\\/);
  assert.equal(body.acp_supported, true);
  assert.deepEqual(body.execution_modes, ['shell', 'persistent_shell', 'acp']);
  assert.equal(body.persistent_shell_supported, true);
  assert.equal(body.persistent_shell_shells.cmd, true);
  for (const posixShell of ['bash', 'zsh', 'sh', 'fish']) assert.equal(body.persistent_shell_shells[posixShell], false, posixShell);
  assert.ok(['cmd', 'pwsh', 'powershell'].includes(body.persistent_shell_default_shell));
  console.log(
    `# under Wine /health says: terminal_supported=${body.terminal_supported}, powershell=${body.persistent_shell_shells.powershell}, default shell ${body.persistent_shell_default_shell}`,
  );
  notUnderWine('PowerShell (Wine ships only a stub powershell.exe, so /health may list it here)', 'test/core/platform.test.ts');
  // libuv takes a pipe name with FILE_FLAG_FIRST_PIPE_INSTANCE, which Wine 8 does not enforce: there two
  // servers both listen on one name, so the state dir's lock cannot be seen to refuse a second server.
  notUnderWine("the state dir's lock refusing a second server (a named pipe's first instance)", 'test/core/state-lock.test.ts on Linux');
  notUnderWine('ConPTY terminals (under Wine cmd.exe in a ConPTY exits at once)', 'test/core/platform.test.ts and docs/windows.md');
  api.kill();
});

test('a terminal that cannot start (no ConPTY build of node-pty here) fails with a clear message; the server goes on', async () => {
  const api = await machine.startServer();
  const ws = new WebSocket(`${api.url.replace('http', 'ws')}/terminal/ws`, { headers: { 'X-API-Key': api.key } });
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(String(d)));
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1011);
  const error = messages.map((m) => (m.startsWith('\u0000') ? JSON.parse(m.slice(1)) : null)).find((m) => m?.type === 'error');
  assert.match(error?.message ?? '', /could not start the shell powershell\.exe/);
  assert.equal((await api.call('GET', '/health')).status, 200);
  assert.equal((await api.run({ command: 'echo still here' })).stdout, 'still here\r\n');
  api.kill();
});

test('an ACP job with a scripted agent run by Windows Node: its turn, its fs writes and a terminal in cmd', async () => {
  const root = tempDir();
  const work = join(root, 'work dir');
  mkdirSync(work);
  writeFileSync(join(work, 'shim.cmd'), `@"${winPath(setup.NODE_EXE)}" -e "console.log(JSON.stringify(process.argv.slice(1)))" %*\r\n`);
  const agentJs = join(root, 'agent.js');
  // Windows Node runs plain JavaScript, not tsx: the SDK-based agent is bundled to one file.
  buildSync({
    entryPoints: [join(REPO, 'test/acp/agents/scripted-agent.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: agentJs,
    logLevel: 'error',
  });
  const api = await machine.startServer();
  const steps = [
    { say: 'hello from windows' },
    { write: { path: `${winPath(work)}\\note.txt`, content: 'written by the agent' } },
    { write: { path: 'C:\\windows\\escape.txt', content: 'x' } },
    { terminal: { command: 'cmd.exe', args: ['/d', '/c', 'echo term-out& exit /b 4'], cwd: winPath(work) } },
    // A batch file by its name with arguments, as npm's shims are (`npm test` on Windows): Node refuses
    // to spawn .cmd and .bat files without a shell, so it goes through cmd.exe, its arguments escaped.
    { terminal: { command: 'shim', args: ARGS, cwd: winPath(work) } },
    // A program with the same arguments, found on PATH by cmd.
    {
      terminal: {
        command: 'node',
        args: ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...ARGS, ...PERCENT],
        cwd: winPath(work),
        env: [{ name: 'PATH', value: `${winPath(dirname(setup.NODE_EXE))};C:\\windows\\system32` }],
      },
    },
  ];
  const r = await api.call('POST', '/exec', {
    mode: 'acp',
    agent: `"${winPath(setup.NODE_EXE)}" "${winPath(agentJs)}"`,
    workdir: winPath(work),
    env: { TEST_AGENT_STATE_DIR: winPath(join(root, 'state')) },
    prompt: JSON.stringify(steps),
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await api.waitJob(r.body.jobId, 120_000);
  assert.equal(job.status, 'completed', JSON.stringify({ acpError: job.acpError, stderr: job.stderr }));
  assert.equal(job.stopReason, 'end_turn');
  assert.match(job.stdout, /hello from windows/);
  assert.match(job.stdout, /write:ok/);
  assert.equal(readFileSync(join(work, 'note.txt'), 'utf8'), 'written by the agent');
  assert.match(job.stdout, /write:error:/, 'a write outside the workdir is denied');
  const terms = [...job.stdout.matchAll(/terminal:(\{.*?\})(?=write:|terminal:|hello from|$)/gs)].map((m) => JSON.parse(m[1]));
  assert.equal(terms.length, 3, job.stdout);
  assert.equal(terms[0].exit.exitCode, 4);
  assert.match(terms[0].output, /term-out/);
  assert.equal(terms[1].exit.exitCode, 0, JSON.stringify(terms[1]));
  assert.deepEqual(JSON.parse(terms[1].output), ARGS);
  assert.equal(terms[2].exit.exitCode, 0, JSON.stringify(terms[2]));
  assert.deepEqual(JSON.parse(terms[2].output), [...ARGS, ...PERCENT]);
  api.kill();
});
