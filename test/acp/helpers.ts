// Shared by the ACP tests and the benchmark: the scripted agent, bundled once so each spawn starts fast.
import { buildSync } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tempDir } from '../helpers/server';

const AGENT_SOURCE = join(__dirname, 'agents', 'scripted-agent.ts');
let bundled: string | undefined;

/** argv that runs the scripted agent (see test/acp/agents/scripted-agent.ts). */
export function scriptedAgent(): string[] {
  if (!bundled) {
    const out = join(tmpdir(), `acp-scripted-agent-${process.pid}-${statSync(AGENT_SOURCE).mtimeMs | 0}.mjs`);
    buildSync({ entryPoints: [AGENT_SOURCE], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'error' });
    process.once('exit', () => rmSync(out, { force: true }));
    bundled = out;
  }
  return [process.execPath, bundled];
}

/** A prompt that scripts the agent's turn. */
export function script(...steps: unknown[]): string {
  return JSON.stringify(steps);
}

/** A fresh workdir (`<root>/work`); the scripted agent keeps its sessions beside it, in `<root>/state`. */
export function tempWorkdir(prefix = 'acp-test-'): string {
  const work = join(tempDir(prefix), 'work');
  mkdirSync(work);
  return work;
}

/** Removes what `tempWorkdir` made. */
export function removeWorkdir(work: string): void {
  rmSync(dirname(work), { recursive: true, force: true });
}

/** Whether `pid` still runs; a zombie (dead, waiting for a slow init to reap it) does not. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return process.platform !== 'linux';
  }
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs one scripted turn against the scripted agent in `workdir`, with a generous deadline. */
export async function runScripted(
  workdir: string,
  prompt: string,
  options: Partial<import('../../src/acp').RunOptions> & { agentEnv?: Record<string, string> } = {},
): Promise<import('../../src/acp').AcpResult> {
  const { runAcpSession } = await import('../../src/acp');
  const { agentEnv, ...rest } = options;
  return runAcpSession({
    agent: scriptedAgent(),
    workdir,
    prompt,
    timeoutMs: 60_000,
    env: { TEST_AGENT_STATE_DIR: join(dirname(workdir), 'state'), ...agentEnv },
    ...rest,
  });
}

/**
 * The body of an ACP job (`POST /exec`) that runs the scripted agent in `workdir`, its state beside it;
 * `agentEnv` reaches the agent (its script, for one), `fields` add to or override the job's.
 */
export function scriptedAcpJob(agent: string, workdir: string, fields: Record<string, unknown> = {}, agentEnv: Record<string, string> = {}) {
  return { mode: 'acp', agent, workdir, env: { TEST_AGENT_STATE_DIR: join(workdir, '../state'), ...agentEnv }, ...fields };
}
