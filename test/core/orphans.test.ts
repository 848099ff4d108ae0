// A server killed outright (SIGKILL: no chance to end anything) leaves no process behind: shell jobs,
// persistent shells, ACP agents and their terminals, with everything they started, are ended by the spawn helper
// (src/server/jobs/spawn-helper.ts), which sees the server's pipe close. Linux (/proc).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, eventually, processesWith, spawnCli, tempDir } from '../helpers/server';
import { removeWorkdir, script, scriptedAgent, tempWorkdir } from '../acp/helpers';

interface Proc {
  pid: number;
  start: string;
  cmd: string;
}

/** ppid, process group and start time of `pid`, or undefined when it is gone or a zombie. */
function stat(pid: number): { ppid: number; pgrp: number; start: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return undefined;
    return { ppid: Number(f[1]), pgrp: Number(f[2]), start: f[19] };
  } catch {
    return undefined;
  }
}

/** Every live process below `root`, and every member of their process groups (what left the tree stays in its group). */
function descendants(root: number): Proc[] {
  const all = new Map<number, { ppid: number; pgrp: number; start: string }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = stat(Number(e));
    if (s) all.set(Number(e), s);
  }
  const found = new Set<number>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of all) {
      if (found.has(pid) || pid === root) continue;
      const groups = new Set([...found].map((p) => all.get(p)!.pgrp));
      if (s.ppid === root || found.has(s.ppid) || groups.has(s.pgrp)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found].map((pid) => ({ pid, start: all.get(pid)!.start, cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') }));
}

/** Still the same process (not a reused pid) and alive. */
const survives = (p: Proc) => stat(p.pid)?.start === p.start;

describe('orphans after a SIGKILL of the server', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let workdir: string;
  before(() => {
    workdir = tempWorkdir('ar-orphans-');
  });
  after(() => removeWorkdir(workdir));

  it('ends persistent shells, ACP agents and their terminals, with what they started, within seconds', async () => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    let tree: Proc[] = [];
    try {
      // A persistent shell with a background child, and a command still running in it.
      const bg = await cli.run({ mode: 'persistent_shell', shell: 'bash', sessionKey: 'guarded', command: 'sleep 300 & echo bg=$!' });
      assert.equal(bg.status, 'completed', JSON.stringify(bg));
      const bgPid = Number(/bg=(\d+)/.exec(bg.stdout)![1]);
      const running = await cli.call('POST', '/exec', { mode: 'persistent_shell', shell: 'bash', sessionKey: 'guarded', command: 'echo started; sleep 301' });
      assert.equal(running.status, 202, JSON.stringify(running.body));
      await eventually(async () => (await cli.call('GET', `/jobs/${running.body.jobId}`)).body.stdout === 'started\n', 15_000, 'the shell command to run');

      // An ACP agent mid-turn, with a child of its own.
      const agent = scriptedAgent()
        .map((a) => JSON.stringify(a))
        .join(' ');
      const acp = await cli.call('POST', '/exec', {
        mode: 'acp',
        agent,
        workdir,
        env: { TEST_AGENT_STATE_DIR: join(workdir, '../state') },
        prompt: script({ spawnChild: true }, { terminal: { command: 'sleep', args: ['303'], leave: true } }, { hang: true, ignoreTerm: true }),
      });
      assert.equal(acp.status, 202, JSON.stringify(acp.body));
      const said = await eventually(
        async () => /child:(\d+)/.exec((await cli.call('GET', `/jobs/${acp.body.jobId}`)).body.stdout ?? ''),
        20_000,
        'the agent to start its child',
      );
      const agentChild = Number(said![1]);
      await eventually(
        async () => /terminal:left:/.test((await cli.call('GET', `/jobs/${acp.body.jobId}`)).body.stdout ?? ''),
        20_000,
        'the agent to start a terminal',
      );

      tree = descendants(cli.child.pid!);
      const pids = tree.map((p) => p.pid);
      assert.ok(pids.includes(bgPid), `the shell's background child is in the tree: ${JSON.stringify(tree)}`);
      assert.ok(pids.includes(agentChild), `the agent's child is in the tree: ${JSON.stringify(tree)}`);
      assert.ok(
        tree.some((p) => p.cmd.includes('sleep 301')),
        'the running shell command is in the tree',
      );
      assert.ok(
        tree.some((p) => p.cmd.includes(scriptedAgent()[1])),
        'the agent is in the tree',
      );
      assert.ok(
        tree.some((p) => p.cmd.includes('sleep 303')),
        "the agent's terminal is in the tree",
      );
    } finally {
      await cli.stop('SIGKILL');
    }
    // Wide slack: the machine may be loaded; the helper acts as soon as it reads the end of its pipe.
    await eventually(() => tree.every((p) => !survives(p)), 5_000, 'the whole tree to be ended').catch((err) => {
      throw new Error(`${err.message}; left: ${JSON.stringify(tree.filter(survives))}`);
    });
  });

  it('a helper whose server died before it started still ends what the server asked it to guard', async () => {
    // The race of a guard helper replaced just before the server dies: the request waits in its stdin,
    // and its stdout is already broken when it starts.
    const tree = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const helper = spawn(process.execPath, [join(dirname(CLI), 'spawn-helper.js')], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    helper.stdin!.end(`${JSON.stringify({ op: 'guard', id: 1, pid: tree.pid })}\n`);
    helper.stdout!.destroy();
    const exited = new Promise((r) => helper.once('exit', r));
    try {
      await eventually(() => stat(tree.pid!) === undefined, 5_000, 'the guarded tree to be ended');
    } finally {
      tree.kill('SIGKILL');
    }
    await exited;
  });

  it('keeps guarding after the helper that guarded was killed', async () => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    const server = cli.child.pid!;
    const helpers = () => processesWith('spawn-helper').filter((pid) => stat(pid)?.ppid === server);
    let tree: Proc[] = [];
    try {
      const first = await cli.run({ mode: 'persistent_shell', shell: 'bash', sessionKey: 'guarded', command: 'sleep 300 & echo bg=$!' });
      const bgPid = Number(/bg=(\d+)/.exec(first.stdout)![1]);
      // One helper: the guard, started with the first shell (the one that starts shell jobs comes with the first).
      const [guard] = (await eventually(() => (helpers().length === 1 ? helpers() : undefined), 10_000, 'the guard helper'))!;
      process.kill(guard, 'SIGKILL');
      await eventually(() => helpers().length === 1 && !helpers().includes(guard), 10_000, 'a new guard helper');
      tree = descendants(server).filter((p) => !helpers().includes(p.pid));
      assert.ok(
        tree.some((p) => p.pid === bgPid),
        "the shell's background child is in the tree",
      );
    } finally {
      await cli.stop('SIGKILL');
    }
    await eventually(() => tree.every((p) => !survives(p)), 5_000, 'the whole tree to be ended').catch((err) => {
      throw new Error(`${err.message}; left: ${JSON.stringify(tree.filter(survives))}`);
    });
  });
});
