// Finds a node-pty to spawn terminals with, and the user's shell to run in them.
//
// The CLI uses @lydell/node-pty: the same library as node-pty, prebuilt for each platform and with no
// install script, so `npm i -g` works on a VM without a compiler (node-pty itself compiles on Linux).
// A host may inject another copy first: inside VS Code the editor's own node-pty matches its Electron ABI.
import { existsSync } from 'node:fs';
import type * as NodePty from '@lydell/node-pty';
import { isWindows } from '../../common/platform';
import { jobEnv } from '../jobs/manager';

export type PtyProcess = NodePty.IPty;

/** The part of node-pty's module that the terminal uses; VS Code's copy and @lydell's both have it. */
export interface PtyModule {
  spawn(file: string, args: string[] | string, options: NodePty.IPtyForkOptions | NodePty.IWindowsPtyForkOptions): PtyProcess;
}

/**
 * A module, or a function that loads one (so a failing `require` is caught and reported here),
 * or `false` to turn terminals off on this host.
 */
export type PtyModuleSource = PtyModule | (() => unknown) | false;

export type PtyLoad = { ok: true; module: PtyModule; from: string } | { ok: false; reason: string };

/** Tries the injected module first, then @lydell/node-pty; reports why terminals are unsupported if none loads. */
export function loadPtyModule(injected?: PtyModuleSource): PtyLoad {
  if (injected === false) return { ok: false, reason: 'terminals are turned off on this host' };
  const failures: string[] = [];
  const candidates: Array<[string, () => unknown]> = [];
  if (injected) candidates.push(['host', typeof injected === 'function' ? injected : () => injected]);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, so a failure is reported, not thrown
  candidates.push(['@lydell/node-pty', () => require('@lydell/node-pty')]);
  for (const [from, load] of candidates) {
    try {
      const mod = load() as Partial<PtyModule> | undefined;
      if (mod && typeof mod.spawn === 'function') return { ok: true, module: mod as PtyModule, from };
      failures.push(`${from}: has no spawn()`);
    } catch (err) {
      failures.push(`${from}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { ok: false, reason: `no usable node-pty (${failures.join('; ')})` };
}

/** The shell a new terminal runs: the option, else `$SHELL`, else bash, else sh; PowerShell on Windows. */
export function defaultShell(configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  if (isWindows) return 'powershell.exe';
  for (const candidate of [env.SHELL, '/bin/bash', '/usr/bin/bash']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return '/bin/sh';
}

/**
 * The environment of a terminal: the server's as a job gets it (without the API key: a person holding a
 * one-time ticket must not find the permanent key in `env`), announcing an xterm-256color terminal with
 * true colour.
 */
export function terminalEnv(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(jobEnv(undefined, base))) if (v !== undefined) env[k] = v;
  env.TERM = 'xterm-256color';
  env.COLORTERM = 'truecolor';
  return env;
}
