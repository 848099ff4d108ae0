// What the editor's views show, without an editor: the feed follows the real server's own change events
// (jobs, terminals, persistent shells), coalesces bursts, orders jobs, renders rows, output and an ACP
// transcript, and the terminal client joins a live session. The views themselves run in test/vscode.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ActivityFeed, duration, jobRow, orderJobs, outputText, pendingOf, pickOption, transcript, type ServerSource } from '../../src/extension/activity';
import { joinTerminal } from '../../src/extension/terminal-client';
import type { AgentServer } from '../../src/server/server';
import { eventually, startTestServer, type TestServer } from '../helpers/server';
import { removeWorkdir, script, scriptedAgent, tempWorkdir } from '../acp/helpers';

/** The controller's part the feed uses: a server that can come and go. */
class Source extends EventEmitter implements ServerSource {
  server: AgentServer | undefined;
  set(server: AgentServer | undefined): void {
    this.server = server;
    this.emit('change');
  }
}

function record(feed: ActivityFeed) {
  const seen: { jobs: (string[] | undefined)[]; terminals: number; shells: number } = { jobs: [], terminals: 0, shells: 0 };
  feed.on('jobs', (ids) => seen.jobs.push(ids));
  feed.on('terminals', () => seen.terminals++);
  feed.on('shells', () => seen.shells++);
  return seen;
}

let s: TestServer;
let workdir: string;
before(async () => {
  s = await startTestServer();
  workdir = tempWorkdir();
});
after(async () => {
  await s.close();
  removeWorkdir(workdir);
});

describe('the activity feed', () => {
  it('hears of jobs from the server itself, coalesces a burst into few refreshes, and orders running before finished', async () => {
    const source = new Source();
    const feed = new ActivityFeed(source, 100);
    try {
      const seen = record(feed);
      source.set(s.server);
      await eventually(() => seen.jobs.length === 1, 5000, 'the first full refresh');
      const done = await s.run({ command: 'echo first' });
      const long = (await s.call('POST', '/exec', { command: 'sleep 30' })).body.jobId;
      await eventually(() => feed.jobs().some((j) => j.id === long && j.record.status === 'running'), 10_000, 'the long job to run');
      const ids = feed.jobs().map((j) => j.id);
      assert.ok(ids.indexOf(long) < ids.indexOf(done.jobId), `running first: ${ids}`);

      // Fifty jobs in a burst: a handful of refreshes, not one per job and change.
      const before = seen.jobs.length;
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.call('POST', '/exec', { command: `echo ${i}` })));
      await eventually(() => feed.jobs().filter((j) => j.isFinal()).length >= 51, 30_000, 'the burst to finish');
      await new Promise((r) => setTimeout(r, 300));
      const refreshes = seen.jobs.length - before;
      assert.ok(refreshes >= 1 && refreshes <= 25, `${refreshes} refreshes for 50 jobs (each added, started, ended)`);

      s.server.manager.cancel(s.server.manager.store.get(long)!);
      await eventually(
        () =>
          feed
            .jobs()
            .find((j) => j.id === long)
            ?.isFinal(),
        10_000,
        'the cancel',
      );
      const row = jobRow(feed.job(long)!.record);
      assert.equal(row.contextValue, 'job.done');
      assert.match(row.description, /^cancelled · /);
      assert.equal(row.icon.id, 'circle-slash');
      assert.deepEqual(feed.counts(), { running: 0, approvals: 0 });

      // The server goes: the views empty; another comes: they follow it.
      const count = seen.jobs.length;
      source.set(undefined);
      await eventually(() => seen.jobs.length > count, 5000, 'a refresh when the server goes');
      assert.deepEqual(feed.jobs(), []);
    } finally {
      feed.dispose();
    }
  });

  it('redraws only the changed row of a running job, and follows it in the output text', async () => {
    const source = new Source();
    source.server = s.server;
    const feed = new ActivityFeed(source, 50);
    try {
      const seen = record(feed);
      const id = (await s.call('POST', '/exec', { command: 'read line; echo "got $line"; read again || true', mode: 'shell' })).body.jobId;
      await eventually(() => feed.job(id)?.record.status === 'running', 10_000, 'the job to run');
      const written = feed.job(id)!.running!.write('hello\n', false);
      assert.deepEqual(written, { ok: true });
      await eventually(() => outputText(feed.job(id)!).includes('got hello'), 10_000, 'the output');
      feed.job(id)!.running!.write('', true);
      await eventually(() => feed.job(id)!.isFinal(), 10_000, 'the end');
      assert.match(outputText(feed.job(id)!), /^# read line.*\n# \S+ · completed · exit 0\n\ngot hello\n$/s);
      assert.ok(
        seen.jobs.some((ids) => ids === undefined),
        'an add or an end refreshes the list',
      );
    } finally {
      feed.dispose();
    }
  });

  it('lists terminal sessions and persistent shells as they start and end', async () => {
    const source = new Source();
    source.server = s.server;
    const feed = new ActivityFeed(source, 50);
    try {
      const seen = record(feed);
      await new Promise((r) => setTimeout(r, 150));
      const t0 = seen.terminals;
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/terminal/ws`, { headers: { 'X-API-Key': s.key } });
      let agentSaw = '';
      const id = await new Promise<string>((resolve, reject) => {
        ws.on('message', (d) => {
          const text = d.toString();
          if (text.startsWith('\u0000')) {
            if (JSON.parse(text.slice(1)).type === 'session') resolve(JSON.parse(text.slice(1)).id);
          } else agentSaw += text;
        });
        ws.on('error', reject);
      });
      // The agent's own work, before anyone attaches.
      ws.send(JSON.stringify({ type: 'input', data: 'echo before-$((40+2))\r' }));
      await eventually(() => agentSaw.includes('before-42'), 10_000, "the agent's command to run");
      await eventually(() => seen.terminals > t0 && feed.terminals().some((t) => t.id === id), 5000, 'the terminal in the feed');

      // A second client joins the session (the screen replayed) and its typing reaches the shell.
      let out = '';
      let closedWhy = '';
      const client = joinTerminal(s.url, s.key, id, { cols: 100, rows: 30 }, { output: (d) => (out += d), closed: (why) => (closedWhy = why) });
      await eventually(() => out.includes('before-42'), 10_000, `the screen replayed on joining; saw ${JSON.stringify(out)}`);
      client.input('echo $((6*7))\r');
      await eventually(() => /[\r\n]42\r?\n/.test(out), 10_000, `the echo; saw ${JSON.stringify(out)}`);
      const t1 = seen.terminals;
      await s.server.terminal.endSession(id);
      await eventually(() => closedWhy !== '', 5000, 'the client to hear of the end');
      assert.match(closedWhy, /ended|disconnected/);
      await eventually(() => seen.terminals > t1 && feed.terminals().length === 0, 5000, 'the end in the feed');
      ws.close();

      const wrong = joinTerminal(s.url, s.key, 'no-such-session', undefined, { output: () => undefined, closed: (why) => (closedWhy = why) });
      await eventually(() => /no such session|no terminal session/.test(closedWhy), 5000, `a clear refusal: ${closedWhy}`);
      wrong.close();

      const sh0 = seen.shells;
      const job = await s.run({ mode: 'persistent_shell', shell: 'bash', sessionKey: 'views-test', workdir, command: 'pwd' });
      assert.equal(job.status, 'completed', JSON.stringify(job));
      await eventually(() => seen.shells > sh0 && feed.shells().some((x) => x.sessionKey === 'views-test'), 5000, 'the shell in the feed');
      assert.equal(feed.shells().find((x) => x.sessionKey === 'views-test')!.workdir, workdir);
      const sh1 = seen.shells;
      assert.equal((await s.call('DELETE', '/sessions/views-test')).status, 200);
      await eventually(() => seen.shells > sh1 && feed.shells().length === 0, 5000, 'the shell gone from the feed');
    } finally {
      feed.dispose();
    }
  });

  it("shows a pending permission on its ACP job, picks Approve's option, and writes the transcript", async () => {
    const source = new Source();
    source.server = s.server;
    const feed = new ActivityFeed(source, 50);
    try {
      const agent = scriptedAgent()
        .map((a) => JSON.stringify(a))
        .join(' ');
      const prompt = script(
        { say: 'Editing a.txt. ' },
        {
          tool: {
            toolCallId: 'edit-1',
            title: 'Edit a.txt',
            kind: 'edit',
            status: 'pending',
            content: [{ type: 'diff', path: join(workdir, 'a.txt'), oldText: 'one\ntwo', newText: 'one\nTWO' }],
          },
        },
        { permission: { toolCall: { toolCallId: 'edit-1', title: 'Edit a.txt', kind: 'edit', locations: [{ path: join(workdir, 'a.txt') }] } } },
        { say: 'Done.' },
      );
      const r = await s.call('POST', '/exec', { mode: 'acp', agent, workdir, prompt, policy: 'ask', env: { TEST_AGENT_STATE_DIR: join(workdir, '../state') } });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const id = r.body.jobId;
      await eventually(() => pendingOf(feed.job(id)!.record).length === 1, 30_000, 'the pending request');
      assert.deepEqual(feed.counts(), { running: 1, approvals: 1 });
      const row = jobRow(feed.job(id)!.record);
      assert.equal(row.contextValue, 'job.asking');
      assert.match(row.description, /^asks: Edit a\.txt/);
      assert.equal(feed.jobs('acp')[0]!.id, id);
      assert.ok(feed.jobs('shell').every((j) => j.record.mode === 'shell'));

      const [request] = pendingOf(feed.job(id)!.record);
      assert.equal(pickOption(request!, true), 'once');
      assert.equal(pickOption(request!, false), 'no');
      s.server.acp.permissions.answer(id, request!.requestId, pickOption(request!, true));
      await eventually(() => feed.job(id)!.isFinal(), 30_000, 'the agent to go on and finish');
      const job = feed.job(id)!;
      assert.equal(job.record.status, 'completed');
      const text = transcript(job.record, job.events.latest());
      assert.match(text, /\*\*Agent:\*\*\n\nEditing a\.txt\. /);
      assert.match(text, /- Tool call \*\*Edit a\.txt\*\* \(edit\): pending/);
      assert.match(text, /```diff\n-two\n\+TWO\n```/);
      assert.match(text, /- Asks to run \*\*Edit a\.txt\*\*/);
      assert.match(text, /- Allowed \*\*Edit a\.txt\*\* \(once\)/);
      assert.match(text, /\*\*Stopped:\*\* end_turn/);
      assert.match(jobRow(job.record).description, /end_turn$/);
    } finally {
      feed.dispose();
    }
  });
});

describe('rows', () => {
  it('orders unfinished jobs first, newest first, and keeps a bounded number of finished ones', () => {
    const fake = (id: string, status: string, submittedAt: number, finishedAt?: number) =>
      ({ id, isFinal: () => ['completed', 'failed', 'timeout'].includes(status), record: { jobId: id, status, submittedAt, finishedAt } }) as never;
    const order = orderJobs([fake('a', 'completed', 1, 2), fake('b', 'running', 3), fake('c', 'failed', 4, 9), fake('d', 'pending', 5)], 1).map(
      (j: { id: string }) => j.id,
    );
    assert.deepEqual(order, ['d', 'b', 'c']);
  });

  it("shows a running job's start, not a duration that would go stale between redraws", () => {
    const startedAt = new Date(2026, 0, 2, 9, 5, 7).getTime() / 1000;
    const row = jobRow({
      jobId: 'j1',
      mode: 'shell',
      status: 'running',
      command: 'make   build\n',
      workdir: '/w',
      timeout: 60,
      submittedAt: startedAt,
      startedAt,
      fields: {},
    });
    assert.deepEqual([row.label, row.description, row.contextValue, row.icon.id], ['make build', 'running · since 09:05:07', 'job.running', 'sync~spin']);
  });

  it("says how long a job took in a person's units", () => {
    assert.deepEqual(
      [duration(250), duration(1500), duration(42_000), duration(125_000), duration(3_720_000)],
      ['250 ms', '1.5 s', '42 s', '2 m 5 s', '1 h 2 m'],
    );
  });
});
