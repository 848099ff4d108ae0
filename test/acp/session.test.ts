// Session continuity (load with its replay kept apart, resume, lost) and authentication.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UpdateEvent } from '../../src/acp';
import { removeWorkdir, runScripted, script, tempWorkdir } from './helpers';

let workdir: string;
before(() => {
  workdir = tempWorkdir();
});
after(() => removeWorkdir(workdir));

const updates = (events: { type: string }[]) => events.filter((e): e is UpdateEvent => e.type === 'update');

describe('session continuity', () => {
  it('loads an earlier session, keeping its replayed history apart from the new turn', async () => {
    const agentEnv = { TEST_AGENT_LOAD: '1' };
    const first = await runScripted(workdir, script({ say: 'first answer' }), { agentEnv });
    assert.equal(first.outputText, 'first answer');
    const second = await runScripted(workdir, script({ say: 'second answer' }), { agentEnv, sessionId: first.sessionId! });
    assert.equal(second.error, null);
    assert.equal(second.sessionId, first.sessionId);
    assert.deepEqual(second.session, { sessionId: first.sessionId, how: 'load' });
    assert.equal(second.outputText, 'second answer');
    const replay = updates(second.events).filter((e) => e.phase === 'replay');
    assert.deepEqual(
      replay.map((e) => [e.update.sessionUpdate, (e.update as { content: { text: string } }).content.text]),
      [
        ['user_message_chunk', JSON.stringify([{ say: 'first answer' }])],
        ['agent_message_chunk', 'first answer'],
      ],
    );
    assert.ok(
      updates(second.events)
        .filter((e) => e.phase === 'turn')
        .every((e) => !JSON.stringify(e.update).includes('first answer')),
    );
  });

  it('resumes where the agent offers only session/resume', async () => {
    const agentEnv = { TEST_AGENT_RESUME: '1' };
    const first = await runScripted(workdir, script({ say: 'a' }), { agentEnv });
    const second = await runScripted(workdir, script({ say: 'b' }), { agentEnv, sessionId: first.sessionId! });
    assert.deepEqual(second.session, { sessionId: first.sessionId, how: 'resume' });
    assert.equal(second.outputText, 'b');
    assert.equal(updates(second.events).filter((e) => e.phase === 'replay').length, 0);
  });

  it('says the old session was lost when the agent can neither load nor resume', async () => {
    const r = await runScripted(workdir, script({ say: 'fresh' }), { sessionId: 'sess-from-yesterday' });
    assert.equal(r.stopReason, 'end_turn');
    assert.notEqual(r.sessionId, 'sess-from-yesterday');
    assert.equal(r.session?.how, 'new');
    assert.deepEqual(r.session?.lost, { sessionId: 'sess-from-yesterday', reason: 'the agent can neither load nor resume sessions' });
    assert.ok(r.events.some((e) => e.type === 'notice' && /sess-from-yesterday was lost/.test(e.message)));
  });

  it('starts anew, saying why, when loading fails', async () => {
    const r = await runScripted(workdir, script({ say: 'fresh' }), { sessionId: 'no-such-session', agentEnv: { TEST_AGENT_LOAD: '1' } });
    assert.equal(r.stopReason, 'end_turn');
    assert.equal(r.session?.how, 'new');
    assert.match(r.session?.lost?.reason ?? '', /^session\/load failed: Resource not found/);
  });
});

describe('authentication', () => {
  it('authenticates with a method that needs no person when the agent requires it', async () => {
    const r = await runScripted(workdir, script({ say: 'in' }), { agentEnv: { TEST_AGENT_AUTH: 'oauth-personal,gemini-api-key' } });
    assert.equal(r.error, null);
    assert.equal(r.outputText, 'in');
    const auth = r.events.find((e) => e.type === 'lifecycle' && e.stage === 'authenticate');
    assert.equal((auth as { methodId?: string }).methodId, 'gemini-api-key');
  });

  it('uses the method named by the caller', async () => {
    const r = await runScripted(workdir, script({ say: 'in' }), { authMethod: 'oauth-personal', agentEnv: { TEST_AGENT_AUTH: 'oauth-personal,api-key' } });
    assert.equal(r.outputText, 'in');
    const auth = r.events.find((e) => e.type === 'lifecycle' && e.stage === 'authenticate');
    assert.equal((auth as { methodId?: string }).methodId, 'oauth-personal');
  });

  it('fails clearly when only interactive logins are offered', async () => {
    const r = await runScripted(workdir, script({ say: 'never' }), { agentEnv: { TEST_AGENT_AUTH: 'oauth-personal,terminal:login' } });
    assert.equal(r.stopReason, 'error');
    assert.match(r.error ?? '', /requires authentication and offers no method usable without a person \(offered: oauth-personal, login\)/);
    assert.equal(r.sessionId, null);
  });

  it('authenticates before loading a session too', async () => {
    const agentEnv = { TEST_AGENT_AUTH: 'api-key', TEST_AGENT_LOAD: '1' };
    const first = await runScripted(workdir, script({ say: 'one' }), { agentEnv });
    const second = await runScripted(workdir, script({ say: 'two' }), { agentEnv, sessionId: first.sessionId! });
    assert.equal(second.session?.how, 'load');
    assert.equal(second.outputText, 'two');
  });
});
