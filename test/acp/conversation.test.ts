// A turn as the client sees it, against a real agent process written with the official SDK: text and
// thoughts, tool calls, unknown updates, settings, several turns on one session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AcpClient, AGENT_PRESETS, resolveAgent, type LifecycleEvent, type UpdateEvent } from '../../src/acp';
import { execIfSimple } from '../../src/acp/shell';
import { removeWorkdir, runScripted, script, scriptedAgent, tempWorkdir } from './helpers';

let workdir: string;
before(() => {
  workdir = tempWorkdir();
});
after(() => removeWorkdir(workdir));

const updates = (events: { type: string }[]) => events.filter((e): e is UpdateEvent => e.type === 'update');

describe('a turn', () => {
  it('gathers streamed text and thoughts apart, in order, with the session id', async () => {
    const r = await runScripted(workdir, script({ think: 'let me see' }, { say: 'Hello, ' }, { think: ' more' }, { say: 'world.' }));
    assert.equal(r.error, null);
    assert.equal(r.stopReason, 'end_turn');
    assert.equal(r.outputText, 'Hello, world.');
    assert.equal(r.thoughtText, 'let me see more');
    assert.match(r.sessionId ?? '', /^sess-/);
    assert.deepEqual(r.session, { sessionId: r.sessionId, how: 'new' });
    const kinds = updates(r.events).map((e) => `${e.phase}:${e.update.sessionUpdate}`);
    assert.deepEqual(kinds, ['turn:agent_thought_chunk', 'turn:agent_message_chunk', 'turn:agent_thought_chunk', 'turn:agent_message_chunk']);
    assert.deepEqual(
      r.events.filter((e) => e.type === 'lifecycle').map((e) => (e as { stage: string }).stage),
      ['spawn', 'initialize', 'session', 'prompt', 'stop', 'exit'],
    );
    assert.equal(r.eventCount, r.events.length);
  });

  it('merges tool calls with their updates', async () => {
    const r = await runScripted(
      workdir,
      script(
        { tool: { toolCallId: 'c1', title: 'Read a.txt', kind: 'read', status: 'pending', locations: [{ path: `${workdir}/a.txt` }] } },
        { tool: { toolCallId: 'c2', title: 'Run tests', kind: 'execute', status: 'pending', rawInput: { command: 'npm test' } } },
        { toolUpdate: { toolCallId: 'c1', status: 'in_progress' } },
        { toolUpdate: { toolCallId: 'c1', status: 'completed', content: [{ type: 'content', content: { type: 'text', text: 'abc' } }] } },
        { toolUpdate: { toolCallId: 'c2', status: 'failed', rawOutput: { exitCode: 1 } } },
        { say: 'done' },
      ),
    );
    assert.equal(r.stopReason, 'end_turn');
    assert.deepEqual(r.toolCalls, [
      {
        toolCallId: 'c1',
        title: 'Read a.txt',
        kind: 'read',
        status: 'completed',
        locations: [{ path: `${workdir}/a.txt` }],
        content: [{ type: 'content', content: { type: 'text', text: 'abc' } }],
      },
      { toolCallId: 'c2', title: 'Run tests', kind: 'execute', status: 'failed', rawInput: { command: 'npm test' }, rawOutput: { exitCode: 1 } },
    ]);
  });

  it('keeps an update variant it does not know as an event, and goes on', async () => {
    const r = await runScripted(
      workdir,
      script({ update: { sessionUpdate: 'hologram_update', frames: 3 } }, { update: { sessionUpdate: 'plan', entries: [] } }, { say: 'still here' }),
    );
    assert.equal(r.stopReason, 'end_turn');
    assert.equal(r.outputText, 'still here');
    const seen = updates(r.events).map((e) => e.update);
    assert.deepEqual(seen[0], { sessionUpdate: 'hologram_update', frames: 3 });
    assert.equal(seen[1].sessionUpdate, 'plan');
  });

  it('answers a method it does not serve with -32601', async () => {
    const r = await runScripted(workdir, script({ callUnknown: '_vendor/teleport' }));
    assert.equal(r.stopReason, 'end_turn');
    assert.match(r.outputText, /^unknown:error:-32601:/);
    assert.ok(r.events.some((e) => e.type === 'notice' && /_vendor\/teleport/.test(e.message)));
  });

  it('reports the agent stop reason as given', async () => {
    const r = await runScripted(workdir, script({ say: 'too long' }, { stop: 'max_tokens' }));
    assert.equal(r.stopReason, 'max_tokens');
    assert.equal(r.error, null);
  });

  it('advertises exactly what it serves', async () => {
    const r = await runScripted(workdir, script({ read: { path: `${workdir}/x` } }, { callUnknown: 'fs/write_text_file' }), {
      serve: { readTextFile: false, writeTextFile: false, terminal: false },
    });
    assert.match(r.outputText, /^read:error:-32601:/);
    assert.match(r.outputText, /unknown:error:-32601:/);
  });
});

describe('session settings', () => {
  it('applies model, effort and mode through config options', async () => {
    const r = await runScripted(workdir, script({ sayConfig: true }), {
      model: 'smart',
      effort: 'HIGH',
      mode: 'read-only',
      agentEnv: { TEST_AGENT_SETTINGS: 'config' },
    });
    assert.equal(r.error, null);
    assert.deepEqual(JSON.parse(r.outputText.replace(/^config:/, '')), { model: 'smart', reasoning: 'high', mode: 'read-only', legacyMode: 'default' });
    const config = r.events.filter((e): e is LifecycleEvent => e.type === 'lifecycle' && e.stage === 'config');
    assert.deepEqual(
      config.map((e) => [e.setting, e.value]),
      [
        ['model', 'smart'],
        ['effort', 'high'],
        ['mode', 'read-only'],
      ],
    );
  });

  it('applies the mode with session/set_mode where the agent only has modes', async () => {
    const r = await runScripted(workdir, script({ sayConfig: true }), { mode: 'read-only', agentEnv: { TEST_AGENT_SETTINGS: 'modes' } });
    assert.equal(r.error, null);
    assert.equal(JSON.parse(r.outputText.replace(/^config:/, '')).legacyMode, 'read-only');
  });

  it('refuses a value the agent does not offer, naming what it offers', async () => {
    const r = await runScripted(workdir, script({ say: 'never' }), { model: 'huge', agentEnv: { TEST_AGENT_SETTINGS: 'config' } });
    assert.equal(r.stopReason, 'error');
    assert.match(r.error ?? '', /model "huge" is not offered by the agent; it offers: fast, smart/);
    assert.equal(r.outputText, '');
  });

  it('warns when the agent has no such setting at all', async () => {
    const r = await runScripted(workdir, script({ say: 'ok' }), { effort: 'high' });
    assert.equal(r.stopReason, 'end_turn');
    assert.ok(r.events.some((e) => e.type === 'notice' && e.level === 'warning' && /no effort setting/.test(e.message)));
  });
});

describe('the multi-turn client', () => {
  it('keeps one agent and one session across prompts, each turn with its own output', async () => {
    const client = new AcpClient({ agent: scriptedAgent(), workdir, env: { TEST_AGENT_STATE_DIR: `${workdir}/../state` } });
    try {
      const info = await client.start();
      const pid = client.pid;
      const first = await client.prompt(script({ say: 'one' }, { tool: { toolCallId: 'a', title: 'A' } }));
      const second = await client.prompt('plain words');
      assert.equal(first.outputText, 'one');
      assert.equal(first.toolCalls.length, 1);
      assert.equal(second.outputText, 'echo: plain words');
      assert.equal(second.toolCalls.length, 0);
      assert.equal(client.sessionId, info.sessionId);
      assert.equal(client.pid, pid);
      assert.ok(client.alive());
    } finally {
      await client.close();
    }
    assert.ok(!client.alive());
  });
});

describe('agent presets', () => {
  it('expands known names and leaves commands alone', () => {
    assert.equal(resolveAgent('copilot'), 'copilot --acp --stdio');
    assert.equal(resolveAgent(' Gemini '), AGENT_PRESETS.gemini);
    assert.match(resolveAgent('claude') as string, /claude-agent-acp/);
    assert.match(resolveAgent('codex') as string, /codex-acp/);
    assert.equal(resolveAgent('copilot --acp --stdio --model x'), 'copilot --acp --stdio --model x');
    assert.deepEqual(resolveAgent(['node', 'agent.js']), ['node', 'agent.js']);
  });
});

describe('launching through the shell', () => {
  it('execs a simple command line so the agent leads its group, and leaves shell syntax alone', () => {
    assert.equal(execIfSimple('copilot --acp --stdio'), 'exec copilot --acp --stdio');
    assert.equal(execIfSimple('"/usr/bin/node" "/tmp/agent.mjs"'), 'exec "/usr/bin/node" "/tmp/agent.mjs"');
    for (const line of ['cd repo && agent', 'FOO=1 agent', 'agent | tee log', 'agent $ARGS', 'exec agent', 'cd /x']) {
      assert.equal(execIfSimple(line), line);
    }
  });
});
