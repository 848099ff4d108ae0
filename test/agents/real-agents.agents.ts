// The agents people run (Copilot CLI, Claude Code, Codex, Gemini CLI), pinned and installed from the npm
// registry, each driven through the real server (`POST /exec`, mode acp, the server's default policy
// `workdir`) against a scripted model server, offline. Run by `npm run test:agents` (scripts/run-agent-tests.mjs
// installs them first); every agent run gets a fresh HOME and TMPDIR.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server';
import { REAL_AGENTS, commandLine, freshHome, installedBin, type AgentName } from './agents';
import { startModelServer, type ModelScript } from './model-server';

let s: TestServer;
let root: string;
let outside: string;
before(async () => {
  s = await startTestServer();
  root = mkdtempSync(join(tmpdir(), 'real-agents-'));
  outside = join(root, 'outside');
  mkdirSync(outside);
});
after(async () => {
  await s.close();
  rmSync(root, { recursive: true, force: true });
});

interface Run {
  job: any;
  workdir: string;
  requests: string[];
}

let runs = 0;
/** One turn of the agent as a job, in a fresh workdir, HOME and TMPDIR. */
async function run(
  name: AgentName,
  script: ModelScript,
  opts: { provider?: boolean; env?: Record<string, string>; fields?: Record<string, unknown> } = {},
): Promise<Run> {
  const agent = REAL_AGENTS[name];
  const bin = installedBin(agent);
  assert.ok(bin, `${agent.pkg}@${agent.version} is not installed; run npm run test:agents (it installs the agents first)`);
  const workdir = join(root, `work-${++runs}`);
  mkdirSync(workdir);
  const model = await startModelServer(agent.api, JSON.parse(JSON.stringify(script).replaceAll('WORKDIR', workdir)));
  const home = freshHome();
  try {
    const env = { HOME: home.home, TMPDIR: home.tmp, ...(opts.provider === false ? {} : agent.env(model, home.home)), ...opts.env };
    const job = await s.run({ mode: 'acp', agent: commandLine(agent, bin), workdir, prompt: 'Do the task.', timeout: 120, env, ...opts.fields });
    return { job, workdir, requests: model.requests };
  } finally {
    await model.close();
    home.remove();
  }
}

const events = (job: any, type: string) => job.events.filter((e: any) => e.type === type).map((e: any) => e.data);
const why = (r: Run) =>
  JSON.stringify({ status: r.job.status, error: r.job.error, stdout: r.job.stdout, stderr: r.job.stderr?.slice(-2000), requests: r.requests });

/** The command ran after the policy approved it. */
function approvedAndRan(r: Run, file: string, content: RegExp): void {
  assert.equal(r.job.status, 'completed', why(r));
  const decisions = events(r.job, 'permission');
  assert.ok(decisions.length > 0, `no permission was asked: ${why(r)}`);
  for (const d of decisions) {
    assert.equal(d.policy, 'workdir');
    assert.equal(d.decision, 'allow', d.reason);
  }
  assert.match(readFileSync(join(r.workdir, file), 'utf8'), content);
}

/** The policy refused, naming the path, and nothing reached it. */
function refused(r: Run, path: string): void {
  assert.ok(['completed', 'failed'].includes(r.job.status), why(r));
  const decisions = events(r.job, 'permission');
  assert.ok(decisions.length > 0, `no permission was asked: ${why(r)}`);
  const d = decisions[0];
  assert.equal(d.policy, 'workdir');
  assert.equal(d.decision, 'reject');
  assert.ok(d.reason.includes(path), d.reason);
  assert.ok(!existsSync(path), `${path} was written`);
}

/**
 * The command's output came as the command ran: an output event after the terminal was announced and
 * before the tool call completed, and in the job's text.
 */
function liveOutput(r: Run, line: string): void {
  const all = r.job.events as any[];
  const start = all.findIndex((e) => e.type === 'agent_terminal' && e.data.op === 'start');
  const out = all.findIndex((e) => e.type === 'agent_terminal' && e.data.op === 'output' && e.data.data.includes(line));
  const toolCallId = all[out]?.data.toolCallId;
  const done = all.findIndex((e) => e.type === 'update' && e.data.update.toolCallId === toolCallId && ['completed', 'failed'].includes(e.data.update.status));
  const shown = JSON.stringify(
    all.filter((e) => e.type === 'agent_terminal' || e.data.update?.status).map((e) => [e.seq, e.type, e.data.op ?? e.data.update.status]),
  );
  assert.ok(start >= 0 && out > start && (done < 0 || done > out), shown);
  assert.ok(r.job.stdout.includes(line), r.job.stdout);
}

describe('GitHub Copilot CLI (the default agent)', () => {
  it('runs a command inside the workdir: approved by the policy, and run', async () => {
    approvedAndRan(await run('copilot', { command: 'echo made-by-copilot > inside.txt' }), 'inside.txt', /made-by-copilot/);
  });

  it('is refused a command that writes outside, by the policy, naming the path', async () => {
    const target = join(outside, 'copilot.txt');
    refused(await run('copilot', { command: `echo x > ${target}` }), target);
  });

  it('without credentials, fails the job naming the agent, its login method and what to run or set', async () => {
    const r = await run('copilot', { command: 'true' }, { provider: false });
    assert.equal(r.job.status, 'failed');
    assert.match(r.job.error, /the agent Copilot 1\.0\.102 .* requires authentication/);
    assert.match(r.job.error, /"copilot-login"/);
    assert.match(r.job.error, /`copilot login`/);
    assert.match(r.job.error, /COPILOT_GITHUB_TOKEN/);
  });
});

describe('Claude Code (claude-agent-acp)', () => {
  it('runs a command inside the workdir with its output shown in the job', async () => {
    const r = await run('claude', { command: 'echo line1; sleep 1; echo claude-was-here > inside.txt; cat inside.txt' });
    approvedAndRan(r, 'inside.txt', /claude-was-here/);
    liveOutput(r, 'claude-was-here');
  });

  it('is refused a command that writes outside, by the policy (its own auto mode is set aside)', async () => {
    const target = join(outside, 'claude.txt');
    const r = await run('claude', { command: `echo x > ${target}` });
    refused(r, target);
    assert.ok(events(r.job, 'lifecycle').some((e: any) => e.stage === 'config' && e.value === 'default'));
  });
});

describe('Claude Code as an MCP host of our /mcp', () => {
  it('is lent /mcp through the job’s mcpServers; its model calls run_command, which runs here, and the output comes back into its turn', async () => {
    const marker = `mcp-marker-${process.pid}`;
    const r = await run(
      'claude',
      { tool: 'mcp__runtime__run_command', command: `echo ${marker} > WORKDIR/made-through-mcp.txt; echo output-of-${marker}` },
      {
        // Without this, Claude Code defers MCP tools behind a ToolSearch tool the scripted model does not call.
        env: { ENABLE_TOOL_SEARCH: 'false' },
        fields: { mcpServers: [{ type: 'http', name: 'runtime', url: `${s.url}/mcp`, headers: [{ name: 'X-API-Key', value: s.key }] }] },
      },
    );
    assert.equal(r.job.status, 'completed', why(r));
    // The command ran on this machine, as a job of this server...
    assert.match(readFileSync(join(r.workdir, 'made-through-mcp.txt'), 'utf8'), new RegExp(marker));
    const jobs = (await s.call('GET', '/jobs')).body as any[];
    const ran = jobs.find((j) => j.mode === 'shell' && j.command.includes(marker));
    assert.ok(ran, 'a shell job ran the command');
    assert.equal(ran.exitCode, 0);
    // ...the policy approved the MCP tool call...
    const decisions = events(r.job, 'permission');
    assert.ok(decisions.length > 0 && decisions.every((d: any) => d.decision === 'allow'), JSON.stringify(decisions));
    // ...and its output came back: to the model (which quotes it) and into the job's text.
    assert.match(r.job.stdout, new RegExp(`done: .*output-of-${marker}`, 's'), why(r));
  });
});

describe('Codex (codex-acp)', () => {
  it('runs a command inside the workdir, its output streamed live into the job', async () => {
    const r = await run('codex', { command: 'echo first; sleep 1; echo codex-later; echo x > inside.txt' });
    approvedAndRan(r, 'inside.txt', /x/);
    liveOutput(r, 'codex-later');
  });

  it('is refused a command that writes outside, by the policy, naming the path', async () => {
    const target = join(outside, 'codex.txt');
    refused(await run('codex', { command: `echo x > ${target}` }), target);
  });
});

describe('Gemini CLI', () => {
  it('creates a new file through our fs, then runs a command inside', async () => {
    const r = await run('gemini', {
      geminiSteps: ['write_file', 'run_shell_command'],
      file: 'WORKDIR/new.txt',
      content: 'made by gemini\n',
      command: 'cat new.txt > copy.txt',
    });
    approvedAndRan(r, 'new.txt', /^made by gemini\n$/);
    assert.equal(readFileSync(join(r.workdir, 'copy.txt'), 'utf8'), 'made by gemini\n');
    const fs = events(r.job, 'fs');
    assert.ok(
      fs.some((e: any) => e.op === 'read' && e.missing === true),
      JSON.stringify(fs),
    );
    assert.ok(
      fs.some((e: any) => e.op === 'write' && e.allowed === true && e.path === join(r.workdir, 'new.txt')),
      JSON.stringify(fs),
    );
  });

  it('is refused a command that writes outside, by the policy, naming the path', async () => {
    const target = join(outside, 'gemini.txt');
    refused(await run('gemini', { geminiSteps: ['run_shell_command'], command: `echo x > ${target}` }), target);
  });
});
