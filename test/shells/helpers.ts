// Shared pieces of the persistent-shell tests: run a command and collect its output as bytes.
import { tmpdir } from 'node:os';
import { tempDir as serverTempDir } from '../helpers/server';
import { ShellCatalog, type ShellKind } from '../../src/server/modes/persistent-shell/catalog';
import type { SessionManager } from '../../src/server/modes/persistent-shell/manager';
import type { CommandHandle, CommandRequest, CommandResult, SessionSeed } from '../../src/server/modes/persistent-shell/session';
import { sleep } from '../../src/common/platform';

export const catalog = new ShellCatalog();
export const POSIX_SHELLS: ShellKind[] = ['bash', 'sh', 'zsh', 'fish'];

export interface Ran {
  out: Buffer;
  err: Buffer;
  stdout: string;
  stderr: string;
  result: CommandResult;
}

export function tempDir(prefix = 'ar-shells-test-'): string {
  return serverTempDir(prefix);
}

export function seed(workdir = tmpdir(), env: Record<string, string> = {}): SessionSeed {
  return { workdir, env: { ...process.env, ...env } };
}

/** Starts a command; `collected()` gives what arrived so far. */
export function start(
  m: SessionManager,
  key: string,
  shell: ShellKind,
  command: string,
  extra: Partial<CommandRequest> & { seed?: SessionSeed } = {},
): { handle: CommandHandle; collected(): { out: Buffer; err: Buffer } } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const handle = m.run(key, shell, extra.seed ?? seed(), {
    ...extra,
    command,
    onStdout: (c) => out.push(Buffer.from(c)),
    onStderr: (c) => err.push(Buffer.from(c)),
  });
  return { handle, collected: () => ({ out: Buffer.concat(out), err: Buffer.concat(err) }) };
}

export async function run(
  m: SessionManager,
  key: string,
  shell: ShellKind,
  command: string,
  extra: Partial<CommandRequest> & { seed?: SessionSeed } = {},
): Promise<Ran> {
  const s = start(m, key, shell, command, extra);
  const result = await s.handle.done;
  const { out, err } = s.collected();
  return { out, err, stdout: out.toString('utf8'), stderr: err.toString('utf8'), result };
}

/** Waits until `cond` holds, checking often, failing after a generous deadline (the machine is loaded). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
