// Ending a turn (cancel, timeout) and broken agents: every one ends with a clear error, never a hang,
// and leaves no process behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AcpClient, type LifecycleEvent } from '../../src/acp';
import { pidAlive, removeWorkdir, runScripted, script, scriptedAgent, tempWorkdir, waitFor } from './helpers';

let workdir: string;
before(() => {
  workdir = tempWorkdir();
});
after(() => removeWorkdir(workdir));

const stages = (events: { type: string }[]) => events.filter((e): e is LifecycleEvent => e.type === 'lifecycle').map((e) => e.stage);
const agentPid = (events: { type: string }[]) =>
  (events.find((e) => e.type === 'lifecycle' && (e as LifecycleEvent).stage === 'spawn') as LifecycleEvent).pid as number;

describe('cancel', () => {
  it('is honoured: session/cancel, and the agent answers cancelled', async () => {
    const controller = new AbortController();
    const r = await runScripted(workdir, script({ say: 'working…' }, { waitCancel: true }), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'update' && e.phase === 'turn') controller.abort();
      },
    });
    assert.equal(r.stopReason, 'cancelled');
    assert.equal(r.error, null);
    assert.equal(r.outputText, 'working…');
    assert.deepEqual(stages(r.events).slice(-3), ['cancel', 'stop', 'exit']);
  });

  it('ignored: the agent is killed, its whole group, after the grace', async () => {
    const client = new AcpClient({
      agent: scriptedAgent(),
      workdir,
      env: { TEST_AGENT_STATE_DIR: `${workdir}/../state` },
      limits: { cancelGraceMs: 500, killGraceMs: 500 },
    });
    try {
      await client.start();
      let child = 0;
      const turn = client.prompt(script({ spawnChild: true }, { hang: true, ignoreTerm: true }));
      await waitFor(() => client.recentEvents().events.some((e) => e.type === 'update'), 20_000, 'the child pid');
      const said = client.recentEvents().events.find((e) => e.type === 'update')!;
      child = Number(/child:(\d+)/.exec(JSON.stringify(said))![1]);
      assert.ok(pidAlive(child));
      const started = Date.now();
      client.cancel();
      const r = await turn;
      assert.equal(r.stopReason, 'cancelled');
      assert.match(r.error ?? '', /did not end the turn within 500 ms of session\/cancel \(cancelGraceMs\); its process group was killed/);
      assert.ok(Date.now() - started < 15_000);
      await waitFor(() => !client.alive(), 10_000, 'the agent to die');
      await waitFor(() => !pidAlive(child), 10_000, 'the agent child to die');
      assert.ok(stages(client.recentEvents().events).includes('kill'));
    } finally {
      await client.close();
    }
  });
});

describe('timeout', () => {
  it('cancels the turn at the deadline and reports timeout', async () => {
    const r = await runScripted(workdir, script({ say: 'slow…' }, { waitCancel: true }), { timeoutMs: 2500 });
    assert.equal(r.stopReason, 'timeout');
    assert.equal(r.outputText, 'slow…');
    assert.ok(stages(r.events).includes('cancel'));
  });

  it('covers an agent that never answers initialize', async () => {
    const r = await runScripted(workdir, 'unused', { timeoutMs: 2000, agentEnv: { TEST_AGENT_STARTUP: 'hang' } });
    assert.equal(r.stopReason, 'timeout');
    assert.equal(r.error, 'timed out during initialize');
    assert.ok(!pidAlive(agentPid(r.events)));
  });
});

describe('broken agents', () => {
  it('a crash mid-turn ends the turn with the exit and the stderr tail', async () => {
    const r = await runScripted(workdir, script({ say: 'half an ans' }, { stderr: 'panic: out of cheese' }, { crash: 7 }));
    assert.equal(r.stopReason, 'error');
    assert.equal(r.outputText, 'half an ans');
    assert.match(r.error ?? '', /the agent exited with code 7; its stderr ends with: panic: out of cheese/);
    assert.match(r.stderr, /panic: out of cheese/);
  });

  it('a crash on startup says so', async () => {
    const r = await runScripted(workdir, 'unused', { agentEnv: { TEST_AGENT_STARTUP: 'crash' } });
    assert.equal(r.stopReason, 'error');
    assert.match(r.error ?? '', /exited with code 3; its stderr ends with: scripted-agent: crashing on startup/);
  });

  it('a command that does not exist says so', async () => {
    const r = await runScripted(workdir, 'unused', { agent: 'no-such-agent-binary --acp' });
    assert.equal(r.stopReason, 'error');
    assert.match(r.error ?? '', /exited with code 127.*not found/s);
  });

  it('a program that cannot be started says so', async () => {
    const r = await runScripted(workdir, 'unused', { agent: ['/no/such/agent', '--acp'] });
    assert.equal(r.stopReason, 'error');
    assert.equal(r.error, 'the agent could not be started: spawn /no/such/agent ENOENT');
  });

  it('garbage on stdout ends the session with a clear error', async () => {
    const r = await runScripted(workdir, script({ say: 'before' }, { garbage: 'Downloading weights 42%' }, { sleep: 60_000 }));
    assert.equal(r.stopReason, 'error');
    assert.match(r.error ?? '', /not a JSON-RPC message \(not JSON\): "Downloading weights 42%"/);
    assert.ok(!pidAlive(agentPid(r.events)));
  });

  it('garbage within the tolerance is noted and the turn goes on', async () => {
    const r = await runScripted(workdir, script({ garbage: 'noise' }, { say: 'fine' }), { limits: { invalidLineTolerance: 3 } });
    assert.equal(r.stopReason, 'end_turn');
    assert.equal(r.outputText, 'fine');
    assert.ok(r.events.some((e) => e.type === 'notice' && /"noise"/.test(e.message)));
  });

  it('a 50 MB line ends the session without holding it', async () => {
    const before = process.memoryUsage();
    const r = await runScripted(workdir, script({ say: 'x' }, { bigLine: 50 * 1024 * 1024 }, { sleep: 60_000 }), { limits: { maxLineBytes: 1024 * 1024 } });
    const afterRun = process.memoryUsage();
    assert.equal(r.stopReason, 'error');
    assert.match(r.error ?? '', /longer than 1048576 bytes \(maxLineBytes\)/);
    // The line was dropped as it came: far less than its 50 MB ever lived here (generous for GC timing).
    assert.ok(afterRun.arrayBuffers - before.arrayBuffers < 40 * 1024 * 1024, `arrayBuffers grew by ${afterRun.arrayBuffers - before.arrayBuffers}`);
  });

  it('a 50 MB line is over the default bound too', async () => {
    const r = await runScripted(workdir, script({ bigLine: 50 * 1024 * 1024 }, { sleep: 60_000 }));
    assert.equal(r.stopReason, 'error');
    assert.match(r.error ?? '', /longer than 33554432 bytes/);
  });

  it('an agent of another protocol version is refused', async () => {
    const r = await runScripted(workdir, 'unused', { agentEnv: { TEST_AGENT_PROTOCOL: '2' } });
    assert.equal(r.stopReason, 'error');
    assert.equal(r.error, 'the agent speaks ACP protocol version 2; this client speaks 1');
  });

  it('nothing the agent started outlives the session', async () => {
    const r = await runScripted(workdir, script({ spawnChild: true }));
    assert.equal(r.stopReason, 'end_turn');
    const child = Number(/child:(\d+)/.exec(r.outputText)![1]);
    await waitFor(() => !pidAlive(child), 10_000, 'the agent child to die');
    assert.ok(!pidAlive(agentPid(r.events)));
  });

  it('keeps only a bounded stderr tail', async () => {
    const r = await runScripted(workdir, script({ stderr: 'A'.repeat(5000) }, { stderr: 'the end' }), { limits: { stderrTailBytes: 1024 } });
    assert.equal(r.stopReason, 'end_turn');
    assert.ok(Buffer.byteLength(r.stderr) <= 1024);
    assert.match(r.stderr, /the end\n$/);
  });
});
