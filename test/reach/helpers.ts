// Shared by the reach tests: temp dirs, waiting for conditions, the stand-in devtunnel on PATH.
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `agent-runtime-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls `check` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const FIXTURES = resolve(__dirname, 'fixtures');

/**
 * A bin dir holding `devtunnel`: an sh launcher that execs the stand-in (so its pid is the stand-in's),
 * plus the env that puts it first on PATH and points it at its state dir.
 */
export function fakeDevtunnel(knobs: Record<string, string> = {}): { bin: string; state: string; env: NodeJS.ProcessEnv; cleanup(): void } {
  const bin = tempDir('dt-bin');
  const state = tempDir('dt-state');
  const launcher = join(bin, 'devtunnel');
  writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" "${join(FIXTURES, 'devtunnel.mjs')}" "$@"\n`);
  chmodSync(launcher, 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_DT_DIR: state, ...knobs };
  return { bin, state, env, cleanup: () => (removeDir(bin), removeDir(state)) };
}

export function devtunnelCalls(state: string): string[][] {
  const p = join(state, 'calls.log');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

export function hostPids(state: string): number[] {
  const p = join(state, 'host.pids');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').trim().split('\n').filter(Boolean).map(Number);
}
