// ACP jobs end to end: `POST /exec` with `mode: "acp"` on the real server, driving the scripted agent
// (a real process built on the official SDK).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AcpRunner } from '../../src/server/modes/acp/runner';
import { eventually, startTestServer, type TestServer } from '../helpers/server';
import { pidAlive, removeWorkdir, script, scriptedAcpJob, scriptedAgent, tempWorkdir } from './helpers';

let s: TestServer;
let workdir: string;
let agent: string;
before(async () => {
  s = await startTestServer();
  workdir = tempWorkdir();
  agent = scriptedAgent()
    .map((a) => JSON.stringify(a))
    .join(' ');
});
after(async () => {
  await s.close();
  removeWorkdir(workdir);
});

const acpJob = (fields: Record<string, unknown>, agentEnv: Record<string, string> = {}) => scriptedAcpJob(agent, workdir, fields, agentEnv);

async function submit(body: Record<string, unknown>): Promise<string> {
  const r = await s.call('POST', '/exec', body);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.status, 'pending');
  return r.body.jobId;
}

const terminalOutput = (said: string) => JSON.parse(said.replace(/^terminal:/, ''));

const agentPid = (job: { events: { type: string; data: { stage?: string; pid?: number } }[] }) =>
  job.events.find((e) => e.type === 'lifecycle' && e.data.stage === 'spawn')!.data.pid!;

describe('ACP jobs through POST /exec', () => {
  it('runs a turn: agent text as stdout, stderr, session id, stop reason, events', async () => {
    const job = await s.run(acpJob({ prompt: script({ think: 'hmm' }, { say: 'Hello ' }, { stderr: 'agent log line' }, { say: 'there' }) }));
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(job.endReason, 'exit');
    assert.equal(job.command, `[acp] ${agent}`);
    assert.equal(job.stdout, 'Hello there');
    assert.match(job.stderr, /agent log line/);
    assert.match(job.acpSessionId, /^sess-/);
    assert.equal(job.stopReason, 'end_turn');
    assert.equal(job.acpError, null);
    assert.equal(job.policy, 'workdir');
    assert.equal(typeof job.prompt, 'string', 'the prompt is kept for lists and transcripts');
    assert.ok(job.prompt.length > 0 && job.prompt.length <= 1001);
    const types = job.events.map((e: { type: string; data: { update?: { sessionUpdate: string } } }) => e.data.update?.sessionUpdate ?? e.type);
    assert.deepEqual(
      types.filter((t: string) => t.startsWith('agent_')),
      ['agent_thought_chunk', 'agent_message_chunk', 'agent_message_chunk'],
    );
    assert.ok(!pidAlive(agentPid(job)), 'the agent is gone');
  });

  it('shows output and events while the turn runs, streams them, and cancels the turn', async () => {
    const id = await submit(acpJob({ prompt: script({ say: 'thinking about it' }, { waitCancel: true }) }));
    const running = await eventually(
      async () => {
        const { body } = await s.call('GET', `/jobs/${id}?stdoutFrom=0&wait=5`);
        return body.stdout === 'thinking about it' ? body : undefined;
      },
      30_000,
      'live output',
    );
    assert.equal(running.status, 'running');
    assert.equal(running.processAlive, true);
    assert.match(running.acpSessionId, /^sess-/);
    assert.ok(running.events.some((e: { type: string }) => e.type === 'update'));

    const stream = await fetch(`${s.url}/jobs/${id}/stream`, { headers: { 'X-API-Key': s.key } });
    const reader = stream.body!.getReader();
    let sse = '';
    const decoder = new TextDecoder();
    while (!sse.includes('agent_message_chunk')) sse += decoder.decode((await reader.read()).value);

    const cancelled = await s.call('POST', `/jobs/${id}/cancel`);
    assert.equal(cancelled.status, 200);
    const job = await s.waitJob(id);
    assert.equal(job.status, 'failed');
    assert.equal(job.cancelled, true);
    assert.equal(job.endReason, 'cancelled');
    assert.equal(job.stopReason, 'cancelled');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      sse += decoder.decode(value);
    }
    assert.match(sse, /event: acp\n/);
    assert.match(sse, /"stage":"cancel"/);
    assert.match(sse, /event: end\n/);
  });

  it('ends with status timeout at the deadline', async () => {
    const job = await s.run(acpJob({ prompt: script({ say: 'slow' }, { waitCancel: true }), timeout: 2 }));
    assert.equal(job.status, 'timeout');
    assert.equal(job.timedOut, true);
    assert.equal(job.stopReason, 'timeout');
    assert.equal(job.stdout, 'slow');
  });

  it('fails with the agent error when the agent crashes', async () => {
    const job = await s.run(acpJob({ prompt: script({ say: 'partial' }, { stderr: 'segfault-ish' }, { crash: 9 }) }));
    assert.equal(job.status, 'failed');
    assert.equal(job.endReason, 'error');
    assert.equal(job.stopReason, 'error');
    assert.match(job.acpError, /exited with code 9; its stderr ends with: segfault-ish/);
    assert.equal(job.error, job.acpError);
    assert.equal(job.stdout, 'partial');
  });

  it('continues a session with acp_session_id, keeping the replay out of stdout', async () => {
    const first = await s.run(acpJob({ prompt: script({ say: 'first' }) }, { TEST_AGENT_LOAD: '1' }));
    const second = await s.run(acpJob({ prompt: script({ say: 'second' }), acp_session_id: first.acpSessionId }, { TEST_AGENT_LOAD: '1' }));
    assert.equal(second.status, 'completed');
    assert.equal(second.acpSessionId, first.acpSessionId);
    assert.equal(second.stdout, 'second');
    assert.ok(second.events.some((e: { type: string; data: { phase?: string } }) => e.type === 'update' && e.data.phase === 'replay'));
  });

  it('applies model, effort and acp_mode', async () => {
    const job = await s.run(
      acpJob({ prompt: script({ sayConfig: true }), model: 'smart', effort: 'high', acp_mode: 'read-only' }, { TEST_AGENT_SETTINGS: 'config' }),
    );
    assert.equal(job.status, 'completed', job.acpError);
    assert.deepEqual(JSON.parse(job.stdout.replace(/^config:/, '')), { model: 'smart', reasoning: 'high', mode: 'read-only', legacyMode: 'default' });
  });

  it('judges permissions by the workdir by default, and denies everything with policy deny', async () => {
    const steps = script(
      { permission: { toolCall: { toolCallId: 'in', kind: 'edit', locations: [{ path: join(workdir, 'a.txt') }] } } },
      { say: '|' },
      { permission: { toolCall: { toolCallId: 'out', kind: 'edit', locations: [{ path: '/etc/hosts' }] } } },
    );
    const byWorkdir = await s.run(acpJob({ prompt: steps }));
    assert.equal(byWorkdir.stdout, 'permission:selected:once|permission:selected:no');
    const decisions = byWorkdir.events.filter((e: { type: string }) => e.type === 'permission');
    assert.equal(decisions.length, 2);
    assert.match(decisions[1].data.reason, /outside the workdir/);
    const denied = await s.run(acpJob({ prompt: steps, policy: 'deny' }));
    assert.equal(denied.stdout, 'permission:selected:no|permission:selected:no');
  });

  it("with policy ask, shows pending requests on the job and takes a person's answer", async () => {
    const id = await submit(
      acpJob({
        prompt: script({
          permission: { toolCall: { toolCallId: 'edit-1', title: 'Edit a.txt', kind: 'edit', locations: [{ path: join(workdir, 'a.txt') }] } },
        }),
        policy: 'ask',
      }),
    );
    const pending = await eventually(
      async () => {
        const { body } = await s.call('GET', `/jobs/${id}`);
        return body.pendingPermissions?.length ? body.pendingPermissions : undefined;
      },
      30_000,
      'a pending permission',
    );
    assert.equal(pending.length, 1);
    const [p] = pending;
    assert.equal(p.toolCallId, 'edit-1');
    assert.equal(p.title, 'Edit a.txt');
    assert.deepEqual(p.paths, [join(workdir, 'a.txt')]);
    assert.deepEqual(
      p.options.map((o: { optionId: string }) => o.optionId),
      ['always', 'once', 'never', 'no'],
    );
    assert.ok(p.deadlineAt > p.requestedAt);

    const bad = await s.call('POST', `/jobs/${id}/permissions/${p.requestId}`, { optionId: 'sometimes' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /not one of the offered options/);
    assert.equal(bad.body.options.length, 4);
    assert.equal((await s.call('POST', `/jobs/${id}/permissions/${p.requestId}`, {})).status, 400);
    assert.equal((await s.call('POST', `/jobs/${id}/permissions/perm-999`, { optionId: 'once' })).status, 404);

    const ok = await s.call('POST', `/jobs/${id}/permissions/${p.requestId}`, { optionId: 'always' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { answered: true, requestId: p.requestId, optionId: 'always', kind: 'allow_always' });
    const job = await s.waitJob(id);
    assert.equal(job.status, 'completed');
    assert.equal(job.stdout, 'permission:selected:always');
    assert.deepEqual(job.pendingPermissions, []);
    assert.ok(job.events.some((e: { type: string; data: { requestId?: string } }) => e.type === 'permission_request' && e.data.requestId === p.requestId));
    assert.equal((await s.call('POST', `/jobs/${id}/permissions/${p.requestId}`, { optionId: 'once' })).status, 404);
  });

  it('with policy ask, rejects a request nobody answers by acpPermissionDeadlineSeconds', async () => {
    const quick = await startTestServer({ acpPermissionDeadlineSeconds: 1 });
    try {
      const started = Date.now();
      const r = await quick.call('POST', '/exec', acpJob({ prompt: script({ permission: { toolCall: { toolCallId: 'slow' } } }), policy: 'ask' }));
      const job = await quick.waitJob(r.body.jobId);
      assert.equal(job.status, 'completed');
      assert.equal(job.stdout, 'permission:selected:no');
      assert.ok(Date.now() - started < 30_000);
      const request = job.events.find((e: { type: string }) => e.type === 'permission_request');
      assert.ok(request.data.deadlineAt - request.data.requestedAt <= 1.01, JSON.stringify(request.data));
    } finally {
      await quick.close();
    }
  });

  it("runs the agent's terminals in the persistent shell named by persistent_session_key", async () => {
    const steps = script({ terminal: { command: 'ACP_MARK=kept-between-commands' } }, { say: '|' }, { terminal: { command: 'echo "mark=$ACP_MARK"' } });
    const job = await s.run(acpJob({ prompt: steps, persistent_session_key: 'acp-e2e', persistent_shell: 'bash' }));
    assert.equal(job.status, 'completed', job.acpError);
    const second = terminalOutput(job.stdout.split('|')[1]);
    assert.equal(second.output, 'mark=kept-between-commands\n');
    const session = await s.call('GET', '/sessions/acp-e2e');
    assert.equal(session.status, 200);
    await s.call('DELETE', '/sessions/acp-e2e');
    const fresh = await s.run(acpJob({ prompt: steps }));
    assert.equal(terminalOutput(fresh.stdout.split('|')[1]).output, 'mark=\n');
  });

  it('ends broken agents with a clear acpError, keeps unknown updates, serves fs and auth', async () => {
    const cases: [Record<string, unknown>, Record<string, string>, (job: any) => void][] = [
      [{ prompt: script({ garbage: 'Loading…' }, { sleep: 60_000 }) }, {}, (j) => assert.match(j.acpError, /not a JSON-RPC message \(not JSON\): "Loading…"/)],
      [
        { prompt: script({ bigLine: 50 * 1024 * 1024 }, { sleep: 60_000 }) },
        {},
        (j) => assert.match(j.acpError, /longer than 33554432 bytes \(maxLineBytes\)/),
      ],
      [
        { prompt: script({ update: { sessionUpdate: 'future_thing', x: 1 } }, { say: 'ok' }) },
        {},
        (j) => {
          assert.equal(j.status, 'completed');
          assert.ok(j.events.some((e: any) => e.type === 'update' && e.data.update.sessionUpdate === 'future_thing'));
        },
      ],
      [
        {
          prompt: script(
            { update: { sessionUpdate: 'current_mode_update', currentModeId: 'warp' } },
            { update: { sessionUpdate: 'current_mode_update' } },
            { say: 'ok' },
          ),
        },
        { TEST_AGENT_SETTINGS: 'modes' },
        (j) => {
          assert.equal(j.status, 'completed');
          const notices = j.events
            .filter((e: any) => e.type === 'notice')
            .map((e: any) => e.data.message)
            .join('\n');
          assert.match(notices, /mode "warp", which it never offered/);
          assert.match(notices, /current_mode_update without a currentModeId/);
        },
      ],
      [{ prompt: script({ say: 'authed' }) }, { TEST_AGENT_AUTH: 'oauth-personal,api-key' }, (j) => assert.equal(j.stdout, 'authed')],
      [{ prompt: script({ say: 'never' }) }, { TEST_AGENT_AUTH: 'terminal:login' }, (j) => assert.match(j.acpError, /requires authentication/)],
      [
        { prompt: script({ write: { path: join(workdir, 'api.txt'), content: 'via api' } }, { read: { path: '/etc/hostname' } }) },
        {},
        (j) => {
          assert.match(j.stdout, /^write:okread:error:-32602:access denied/);
          assert.deepEqual(
            j.events.filter((e: any) => e.type === 'fs').map((e: any) => e.data.allowed),
            [true, false],
          );
        },
      ],
    ];
    for (const [fields, agentEnv, check] of cases) {
      const job = await s.run(acpJob(fields, agentEnv));
      if (job.status !== 'completed') {
        assert.equal(job.status, 'failed');
        assert.equal(job.stopReason, 'error');
      }
      check(job);
      assert.ok(!pidAlive(agentPid(job)), 'the agent is gone');
    }
  });

  it('shows the output of commands the agent runs itself live (_meta terminal_output): events, SSE, stdout; bad _meta only warns', async () => {
    const gate = join(workdir, '../gate-terminal');
    const meta = (m: Record<string, unknown>) => ({ toolUpdate: { toolCallId: 'run1', _meta: m } });
    const id = await submit(
      acpJob({
        prompt: script(
          { sayCapabilities: true },
          { say: '|' },
          { tool: { toolCallId: 'run1', title: 'make', kind: 'execute', _meta: { terminal_info: { terminal_id: 'term-a', cwd: workdir } } } },
          meta({ terminal_output: { terminal_id: 'term-a', data: 'compiling…\n' } }),
          { waitFile: gate },
          // Claude Code's form: the whole output so far; only the new part is new
          meta({ terminal_output: { terminal_id: 'term-a', data: 'compiling…\nlinked\n' } }),
          meta({ terminal_output_delta: { terminal_id: 'term-a', data: 'ok\n' } }),
          meta({ terminal_exit: { terminal_id: 'term-a', exit_code: 0, signal: null } }),
          meta({ terminal_output: { terminal_id: 'ghost', data: 'boo' } }),
          meta({ terminal_output: { data: 42 } }),
          { toolUpdate: { toolCallId: 'run1', _meta: 'not an object' } },
          { say: '|done' },
        ),
      }),
    );
    const running = await eventually(
      async () => {
        const { body } = await s.call('GET', `/jobs/${id}?stdoutFrom=0&wait=5`);
        return body.stdout.includes('compiling') ? body : undefined;
      },
      30_000,
      'live command output',
    );
    assert.equal(running.status, 'running');
    const stream = await fetch(`${s.url}/jobs/${id}/stream`, { headers: { 'X-API-Key': s.key } });
    writeFileSync(gate, '');
    const sse = await stream.text();
    const job = await s.waitJob(id);
    assert.equal(job.status, 'completed', job.acpError);
    const [caps, shown, end] = job.stdout.split('|');
    assert.equal(JSON.parse(caps.replace(/^capabilities:/, ''))._meta.terminal_output, true);
    assert.equal(shown, 'compiling…\nlinked\nok\n');
    assert.equal(end, 'done');
    const terms = job.events.filter((e: any) => e.type === 'agent_terminal').map((e: any) => [e.data.op, e.data.data ?? e.data.exitCode ?? e.data.cwd]);
    assert.deepEqual(terms, [
      ['start', workdir],
      ['output', 'compiling…\n'],
      ['output', 'linked\n'],
      ['output', 'ok\n'],
      ['exit', 0],
    ]);
    const warnings = job.events
      .filter((e: any) => e.type === 'notice')
      .map((e: any) => e.data.message)
      .join('\n');
    assert.match(warnings, /terminal ghost, which it never announced/);
    assert.match(warnings, /needs a terminal_id and a string data/);
    assert.match(warnings, /_meta that is not an object/);
    assert.match(sse, /"type":"agent_terminal"|event: acp[\s\S]*agent_terminal/);
    assert.match(sse, /linked\\n/);
  });

  it('fails a job whose agent needs a login with the agent, its methods and what to run or set', async () => {
    const job = await s.run(acpJob({ prompt: script({ say: 'never' }) }, { TEST_AGENT_AUTH: 'terminal:copilot-login', TEST_AGENT_NAME: 'Copilot' }));
    assert.equal(job.status, 'failed');
    assert.equal(job.error, job.acpError);
    assert.match(job.acpError, /the agent Copilot 1\.0\.0 \(.*\) requires authentication/);
    assert.match(job.acpError, /"copilot-login" \(copilot-login; terminal\)/);
    assert.match(job.acpError, /run `copilot login`.*set COPILOT_GITHUB_TOKEN/);
  });

  it('refuses bad ACP fields with a clear 400', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ mode: 'acp' }, /prompt is required/],
      [{ mode: 'acp', prompt: 'x', policy: 'yolo' }, /policy must be one of: workdir, deny, ask/],
      [{ mode: 'acp', prompt: 'x', model: 5 }, /model must be a string/],
      [{ mode: 'acp', prompt: 'x', agent: '' }, /agent must be a preset name or a command line/],
      [{ mode: 'acp', prompt: 'x', acp_session_id: [] }, /acp_session_id must be a string/],
    ];
    for (const [body, message] of cases) {
      const r = await s.call('POST', '/exec', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, message);
    }
  });

  it('reports ACP support in /health', async () => {
    const { body } = await s.call('GET', '/health');
    assert.equal(body.acp_supported, true);
    assert.ok(body.execution_modes.includes('acp'));
    assert.equal(body.acp_default_agent, 'copilot --acp --stdio');
    assert.ok(body.acp_agents.includes('claude'));
  });
});

describe('ACP job options', () => {
  it('kills an agent that ignores the cancel after the grace', async () => {
    const t = await startTestServer({ killGraceMs: 500 }, { runners: [new AcpRunner({ killGraceMs: 500, limits: { cancelGraceMs: 500 } })] });
    try {
      const r = await t.call('POST', '/exec', {
        mode: 'acp',
        agent,
        workdir,
        env: { TEST_AGENT_STATE_DIR: join(workdir, '../state') },
        prompt: script({ say: 'stubborn' }, { hang: true, ignoreTerm: true }),
      });
      await eventually(async () => (await t.call('GET', `/jobs/${r.body.jobId}?stdoutFrom=0&wait=5`)).body.stdout === 'stubborn', 30_000, 'the turn to start');
      await t.call('POST', `/jobs/${r.body.jobId}/cancel`);
      const job = await t.waitJob(r.body.jobId);
      assert.equal(job.status, 'failed');
      assert.equal(job.cancelled, true);
      assert.equal(job.stopReason, 'cancelled');
      assert.match(job.acpError, /did not end the turn within 500 ms of session\/cancel/);
      await eventually(() => !pidAlive(agentPid(job)), 10_000, 'the agent to die');
    } finally {
      await t.close();
    }
  });

  it('rejects an unanswered ask at the permission deadline', async () => {
    const t = await startTestServer({}, { runners: [new AcpRunner({ killGraceMs: 500, permissionDeadlineMs: 1000 })] });
    try {
      const job = await t.run({
        mode: 'acp',
        agent,
        workdir,
        env: { TEST_AGENT_STATE_DIR: join(workdir, '../state') },
        policy: 'ask',
        prompt: script({ permission: { toolCall: { toolCallId: 'late' } } }),
      });
      assert.equal(job.status, 'completed');
      assert.equal(job.stdout, 'permission:selected:no');
      const decision = job.events.find((e: { type: string }) => e.type === 'permission');
      assert.match(decision.data.reason, /no answer within 1 s/);
    } finally {
      await t.close();
    }
  });
});
