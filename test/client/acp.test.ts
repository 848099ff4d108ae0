// An ACP job through the client: the SDK-based scripted agent (a real process) asks permission twice,
// the client's onPermission answers each from the job's stream, and the agent sees those answers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentRuntimeClient, type JobStreamEvent, type PendingPermission } from '../../src/client';
import { startTestServer, type TestServer } from '../helpers/server';
import { removeWorkdir, script, scriptedAgent, tempWorkdir } from '../acp/helpers';

let s: TestServer;
let client: AgentRuntimeClient;
let workdir: string;
let agent: string;
before(async () => {
  s = await startTestServer();
  client = new AgentRuntimeClient({ url: s.url, key: s.key });
  workdir = tempWorkdir('ar-client-acp-');
  agent = scriptedAgent()
    .map((a) => JSON.stringify(a))
    .join(' ');
});
after(async () => {
  await s.close();
  removeWorkdir(workdir);
});

const env = () => ({ TEST_AGENT_STATE_DIR: join(workdir, '../state') });

describe('client.runAgent', () => {
  it('answers each permission request through onPermission, from the stream', async () => {
    const asked: PendingPermission[] = [];
    const events: JobStreamEvent[] = [];
    const job = await client.runAgent(
      {
        agent,
        workdir,
        env: env(),
        prompt: script(
          { permission: { toolCall: { toolCallId: 'edit-1', title: 'Edit a.txt', kind: 'edit', locations: [{ path: join(workdir, 'a.txt') }] } } },
          { say: '|' },
          { permission: { toolCall: { toolCallId: 'run-2', title: 'Run rm', kind: 'execute' } } },
        ),
      },
      {
        onPermission: (p) => {
          asked.push(p);
          return p.toolCallId === 'edit-1' ? 'once' : 'no';
        },
        onEvent: (e) => events.push(e),
        signal: AbortSignal.timeout(60_000),
      },
    );
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(job.policy, 'ask', 'onPermission asks for the ask policy');
    assert.equal(job.stdout, 'permission:selected:once|permission:selected:no');
    assert.deepEqual(
      asked.map((p) => [p.toolCallId, p.title, p.options.map((o) => o.optionId)]),
      [
        ['edit-1', 'Edit a.txt', ['always', 'once', 'never', 'no']],
        ['run-2', 'Run rm', ['always', 'once', 'never', 'no']],
      ],
    );
    assert.deepEqual(asked[0].paths, [join(workdir, 'a.txt')]);
    assert.equal(events.at(-1)!.event, 'end');
    assert.ok(events.some((e) => e.event === 'acp' && e.data.type === 'permission'));
  });

  it('without onPermission the job runs under its policy; an unknown requestId is a 404', async () => {
    const job = await client.runAgent({ agent, workdir, env: env(), prompt: script({ say: 'plain' }), policy: 'deny' });
    assert.equal(job.stdout, 'plain');
    await assert.rejects(client.answerPermission(job.jobId, 'perm-1', 'once'), { name: 'AgentRuntimeError', status: 404 });
  });
});
