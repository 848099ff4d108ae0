// `mode: "persistent_shell"` and `/sessions` through the real HTTP server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync, rmSync } from 'node:fs';
import { resolveOptions } from '../../src/server/config';
import { eventually, startTestServer, type TestServer } from '../helpers/server';
import { catalog, pidAlive, tempDir } from './helpers';

const exec = (s: TestServer, body: Record<string, unknown>) => s.call('POST', '/exec', { mode: 'persistent_shell', shell: 'bash', ...body });

describe('persistent shells over HTTP', () => {
  let s: TestServer;
  const dirs: string[] = [];
  const dir = () => {
    const d = realpathSync(tempDir());
    dirs.push(d);
    return d;
  };
  before(async () => {
    s = await startTestServer({ killGraceMs: 500 });
  });
  after(async () => {
    await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("GET /health reports the seed's persistent_shell_* fields", async () => {
    const { body } = await s.call('GET', '/health');
    assert.ok(body.execution_modes.includes('persistent_shell'));
    assert.equal(body.persistent_shell_supported, true);
    assert.deepEqual(Object.keys(body.persistent_shell_shells).sort(), ['bash', 'fish', 'powershell', 'pwsh', 'sh', 'zsh']);
    assert.equal(body.persistent_shell_shells.bash, true);
    assert.equal(body.persistent_shell_shells.pwsh, catalog.executable('pwsh') !== undefined);
    assert.equal(body.persistent_shell_default_shell, 'bash');
    assert.equal(body.persistent_shell_max_sessions, 32);
    assert.equal(body.persistent_shell_idle_timeout_seconds, 0);
    assert.equal(typeof body.persistent_shell_sessions, 'number');
  });

  it('runs commands in a named session that keeps its state; jobs carry mode, sessionKey and shell', async () => {
    const d = dir();
    const first = await s.run({
      mode: 'persistent_shell',
      sessionKey: 'state',
      shell: 'bash',
      command: `cd '${d}'; export A=1; f() { echo "f $A"; }`,
      workdir: d,
    });
    assert.equal(first.status, 'completed');
    assert.deepEqual(
      [first.mode, first.sessionKey, first.shell, first.exitCode, first.timedOut, first.shellStarted],
      ['persistent_shell', 'state', 'bash', 0, false, true],
    );
    const second = await s.run({
      mode: 'persistent_shell',
      sessionKey: 'state',
      shell: 'BASH',
      command: 'pwd; f; echo oops >&2; exit_code() { return 5; }; exit_code',
    });
    assert.deepEqual([second.status, second.exitCode, second.stdout, second.stderr, second.shellStarted], ['failed', 5, `${d}\nf 1\n`, 'oops\n', false]);
    assert.equal(second.endReason, 'exit');
    const info = await s.call('GET', '/sessions/state');
    assert.equal(info.status, 200);
    assert.deepEqual(
      [info.body.sessionKey, info.body.shell, info.body.status, info.body.processAlive, info.body.activeCommand],
      ['state', 'bash', 'idle', true, false],
    );
    for (const k of ['createdAt', 'lastUsedAt', 'lastOutputAt']) assert.equal(typeof info.body[k], 'number', k);
  });

  it('refuses bad input with clear 400s', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ sessionKey: 'k', command: 'true', shell: undefined }, /^shell is required$/],
      [{ sessionKey: undefined, command: 'true' }, /^sessionKey is required$/],
      [{ sessionKey: 'k', command: '' }, /^command is required$/],
      [{ sessionKey: 'k' }, /^command is required$/],
      [{ sessionKey: 'k', command: 'true', shell: 'tcsh' }, /^unsupported shell: tcsh$/],
      [{ sessionKey: 'k', command: 'true', shell: 7 }, /^shell must be a string$/],
      [{ sessionKey: ['k'], command: 'true' }, /^sessionKey must be a string$/],
      [{ sessionKey: 'x'.repeat(257), command: 'true' }, /^sessionKey must be at most 256 characters$/],
      [{ sessionKey: 'a\nb', command: 'true' }, /control characters/],
      [{ sessionKey: 'k', command: 'true', bootstrapCurrentCommand: 'yes' }, /^bootstrapCurrentCommand must be a boolean$/],
      [{ sessionKey: 'k', command: 'true', bootstrapCommand: 1 }, /^bootstrapCommand must be a string$/],
      [{ sessionKey: 'k', command: 'true', workdir: '/no/such/dir' }, /^workdir does not exist/],
    ];
    for (const [body, message] of cases) {
      const r = await exec(s, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, message, JSON.stringify(body));
    }
    const unknown = await exec(s, { sessionKey: 'k', command: 'true', shell: 'tcsh' });
    assert.ok(unknown.body.supported_shells.includes('pwsh'));
    const missing = POSSIBLY_MISSING.find((k) => catalog.executable(k) === undefined);
    if (missing) {
      const r = await exec(s, { sessionKey: 'k', command: 'true', shell: missing });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, `shell is not available on this machine: ${missing}`);
      assert.ok(r.body.available_shells.includes('bash'));
    }
    const none = await s.call('GET', '/sessions/k');
    assert.deepEqual([none.status, none.body], [404, { error: 'session not found' }]);
  });

  it('refuses another shell under an existing key (409)', async () => {
    await s.run({ mode: 'persistent_shell', sessionKey: 'mine', shell: 'bash', command: 'true' });
    const r = await exec(s, { sessionKey: 'mine', shell: 'sh', command: 'true' });
    assert.equal(r.status, 409);
    assert.equal(r.body.error, "session 'mine' already uses shell 'bash'");
  });

  it('streams output live; input and nudge reach the running command', async () => {
    const r = await exec(s, { sessionKey: 'live', command: 'echo first; read -r a; read -r b; echo "second [$a] [$b]"' });
    const id = r.body.jobId;
    const live = await eventually(
      async () => {
        const j = await s.call('GET', `/jobs/${id}?stdoutFrom=0&wait=5`);
        return j.body.stdout === 'first\n' && j.body;
      },
      20_000,
      'first line while running',
    );
    assert.equal(live.status, 'running');
    assert.equal(live.processAlive, true);
    const input = await s.call('POST', `/jobs/${id}/input`, { data: 'typed\n' });
    assert.deepEqual([input.status, input.body.written], [200, 6]);
    const eof = await s.call('POST', `/jobs/${id}/input`, { data: '', eof: true });
    assert.equal(eof.status, 409);
    const nudge = await s.call('POST', `/jobs/${id}/nudge`);
    assert.deepEqual(nudge.body, { nudged: true, processAlive: true });
    const job = await s.waitJob(id);
    assert.deepEqual([job.status, job.stdout, job.processAlive], ['completed', 'first\nsecond [typed] []\n', false]);
    const late = await s.call('POST', `/jobs/${id}/nudge`);
    assert.equal(late.body.nudged, false);
  });

  it('streams a persistent-shell job over SSE like any job', async () => {
    const id = (await exec(s, { sessionKey: 'sse', command: 'echo one; sleep 0.3; echo two >&2; echo three' })).body.jobId;
    const res = await fetch(`${s.url}/jobs/${id}/stream`, { headers: { 'X-API-Key': s.key } });
    assert.equal(res.status, 200);
    const text = await res.text(); // the server ends the stream after `end`
    const events = [...text.matchAll(/^event: (\w+)\n(?:id: .*\n)?data: (.*)$/gm)].map((m) => [m[1], JSON.parse(m[2])]);
    const joined = (name: string) =>
      events
        .filter(([e]) => e === name)
        .map(([, d]) => d.text)
        .join('');
    assert.equal(joined('stdout'), 'one\nthree\n');
    assert.equal(joined('stderr'), 'two\n');
    const end = events.find(([e]) => e === 'end')![1];
    assert.deepEqual([end.status, end.sessionKey, end.shell, end.exitCode], ['completed', 'sse', 'bash', 0]);
  });

  it('jobs sent together to one session run in order, each with its own output', async () => {
    const bodies = ['sleep 0.5; echo one', 'echo two; echo two-err >&2', 'echo three'].map((command) => ({ sessionKey: 'order', command }));
    const ids: string[] = [];
    for (const b of bodies) ids.push((await exec(s, b)).body.jobId);
    const jobs = await Promise.all(ids.map((id) => s.waitJob(id)));
    assert.deepEqual(
      jobs.map((j) => j.stdout),
      ['one\n', 'two\n', 'three\n'],
    );
    assert.deepEqual(
      jobs.map((j) => j.stderr),
      ['', 'two-err\n', ''],
    );
    assert.ok(jobs[0].finishedAt <= jobs[1].finishedAt && jobs[1].finishedAt <= jobs[2].finishedAt);
  });

  it('a timed-out command is killed; the next one replays seed workdir, env and bootstrap', async () => {
    const d = dir();
    const boot = 'export BOOT=on; hello() { echo hello-from-boot; }';
    const first = await s.run({
      mode: 'persistent_shell',
      sessionKey: 'recover',
      shell: 'bash',
      workdir: d,
      env: { SEEDED: 'seed-value' },
      command: boot,
      bootstrapCommand: boot,
      bootstrapCurrentCommand: true,
    });
    assert.equal(first.status, 'completed');
    const pid = (await s.call('GET', '/sessions/recover')).body.pid;
    const slow = await s.run({
      mode: 'persistent_shell',
      sessionKey: 'recover',
      shell: 'bash',
      command: 'cd /; SEEDED=lost; echo before; sleep 60',
      timeout: 2,
    });
    assert.deepEqual([slow.status, slow.timedOut, slow.exitCode, slow.endReason, slow.stdout], ['timeout', true, -1, 'timeout', 'before\n']);
    await eventually(() => !pidAlive(pid), 10_000, 'the old shell gone');
    assert.equal((await s.call('GET', '/sessions/recover')).body.status, 'stopped');
    const next = await s.run({
      mode: 'persistent_shell',
      sessionKey: 'recover',
      shell: 'bash',
      command: 'pwd; echo "$SEEDED $BOOT"; hello',
      workdir: '/',
      env: { SEEDED: 'ignored' },
    });
    assert.deepEqual([next.status, next.stdout, next.shellStarted], ['completed', `${d}\nseed-value on\nhello-from-boot\n`, true]);
  });

  it('cancel ends the command; the session stays and works again', async () => {
    const r = await exec(s, { sessionKey: 'cancel', command: 'echo started; sleep 60' });
    const id = r.body.jobId;
    await eventually(async () => (await s.call('GET', `/jobs/${id}`)).body.stdout === 'started\n', 20_000, 'command started');
    const c = await s.call('POST', `/jobs/${id}/cancel`);
    assert.equal(c.status, 200);
    assert.deepEqual([c.body.status, c.body.cancelled, c.body.endReason], ['failed', true, 'cancelled']);
    const again = await s.run({ mode: 'persistent_shell', sessionKey: 'cancel', shell: 'bash', command: 'echo back' });
    assert.deepEqual([again.status, again.stdout], ['completed', 'back\n']);
  });

  it('deleting a session ends its running and waiting jobs as failed, saying why', async () => {
    const running = (await exec(s, { sessionKey: 'doomed', command: 'echo in; sleep 60' })).body.jobId;
    const waiting = (await exec(s, { sessionKey: 'doomed', command: 'echo never' })).body.jobId;
    await eventually(async () => (await s.call('GET', `/jobs/${running}`)).body.stdout === 'in\n', 20_000, 'command running');
    assert.equal((await s.call('GET', '/sessions/doomed')).body.queuedCommands, 1);
    assert.equal((await s.call('DELETE', '/sessions/doomed')).status, 200);
    for (const id of [running, waiting]) {
      const job = await s.waitJob(id);
      assert.deepEqual([job.status, job.endReason, job.error, job.exitCode], ['failed', 'error', 'the session was deleted', null], id);
    }
    assert.equal((await s.call('GET', `/jobs/${waiting}`)).body.stdout, '');
  });

  it('GET /sessions lists, DELETE ends and forgets; keys travel URL-encoded', async () => {
    const key = 'team/a b';
    await s.run({ mode: 'persistent_shell', sessionKey: key, shell: 'sh', command: 'true' });
    const list = await s.call('GET', '/sessions');
    const mine = list.body.find((x: { sessionKey: string }) => x.sessionKey === key);
    assert.ok(mine, 'listed');
    assert.equal(mine.shell, 'sh');
    const path = `/sessions/${encodeURIComponent(key)}`;
    assert.equal((await s.call('GET', path)).body.sessionKey, key);
    const health = await s.call('GET', '/health');
    assert.ok(health.body.persistent_shell_sessions >= 1);
    const update = await s.call('POST', '/update');
    assert.equal(update.status, 409);
    assert.match(update.body.error, /persistent shell/);
    const del = await s.call('DELETE', path);
    assert.deepEqual([del.status, del.body], [200, { deleted: true, sessionKey: key }]);
    assert.equal(mine.pid === null || !pidAlive(mine.pid), true);
    const gone = await s.call('DELETE', path);
    assert.deepEqual([gone.status, gone.body], [404, { error: 'session not found' }]);
  });
});

const POSSIBLY_MISSING = ['pwsh', 'powershell', 'fish', 'zsh'] as const;

describe('persistent shell limits over HTTP', () => {
  it("max sessions (option) refuses a new session with 409; the seed's env variables set the limits", async () => {
    const s = await startTestServer({ persistentShellMaxSessions: 1, persistentShellIdleTimeoutSeconds: 1 });
    try {
      const health = (await s.call('GET', '/health')).body;
      assert.deepEqual([health.persistent_shell_max_sessions, health.persistent_shell_idle_timeout_seconds], [1, 1]);
      await s.run({ mode: 'persistent_shell', sessionKey: 'one', shell: 'bash', command: 'true' });
      const r = await exec(s, { sessionKey: 'two', command: 'true' });
      assert.equal(r.status, 409);
      assert.match(r.body.error, /^maximum persistent shell sessions reached \(1\)/);
      // Idle expiry frees the place.
      await eventually(async () => (await s.call('GET', '/sessions')).body.length === 0, 20_000, 'idle session expired');
      assert.equal((await exec(s, { sessionKey: 'two', command: 'true' })).status, 202);
    } finally {
      await s.close();
    }
    const fromEnv = resolveOptions({}, { DEVPILOT_PERSISTENT_SHELL_MAX_SESSIONS: '5', DEVPILOT_PERSISTENT_SHELL_IDLE_TIMEOUT_SECONDS: '60' });
    assert.deepEqual([fromEnv.persistentShellMaxSessions, fromEnv.persistentShellIdleTimeoutSeconds], [5, 60]);
    assert.equal(resolveOptions({ persistentShellMaxSessions: 7 }, { DEVPILOT_PERSISTENT_SHELL_MAX_SESSIONS: '5' }).persistentShellMaxSessions, 7);
    assert.throws(
      () => resolveOptions({}, { DEVPILOT_PERSISTENT_SHELL_MAX_SESSIONS: 'many' }),
      /DEVPILOT_PERSISTENT_SHELL_MAX_SESSIONS must be a whole number/,
    );
    assert.throws(() => resolveOptions({}, { DEVPILOT_PERSISTENT_SHELL_MAX_SESSIONS: '0' }), /persistentShellMaxSessions must be an integer from 1 to 1024/);
  });
});
