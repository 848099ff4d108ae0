// `agent-server --wrapper` (docs/reach.md): runs the server as a child and keeps it running. Exit 42 means
// "update me": the wrapper upgrades the package, then starts the server again (the old version if the
// upgrade failed). Any other death restarts it with exponential backoff, until it keeps dying right
// after start. SIGINT/SIGTERM stop the child gracefully, then the wrapper.
import { EventEmitter } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../backoff';
import { resolveBounded, type Bounds } from '../../common/bounds';
import { consoleLogger, type Logger } from '../log';
import { isWindows, killTree, platformPath, spawnShell } from '../../common/platform';

/** The exit code that asks the wrapper to update and restart (the predecessor's, docs/COMPATIBILITY.md). */
export const RESTART_EXIT_CODE = 42;
/** The exit code of a command-line usage error: restarting cannot help. */
export const USAGE_EXIT_CODE = 2;
/** Set in the server child's environment, so it can tell a client what `POST /update` will lead to. */
export const WRAPPED_ENV = 'AGENT_RUNTIME_WRAPPED';
/** Replaces the default upgrade command (as `--update-command` does). */
export const UPDATE_COMMAND_ENV = 'AGENT_RUNTIME_UPDATE_COMMAND';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export type WrapperLimitName = 'restartInitialMs' | 'restartMaxMs' | 'fastFailureMs' | 'maxFastFailures' | 'stopGraceMs' | 'updateTimeoutMs';

/** Every limit of the wrapper, with its default and bound (documented in docs/reach.md). */
export const WRAPPER_LIMITS: Bounds<WrapperLimitName> = {
  /** First wait before restarting a server that died; doubles up to restartMaxMs. */
  restartInitialMs: { default: SECOND, min: 10, max: MINUTE },
  restartMaxMs: { default: 30 * SECOND, min: 10, max: 10 * MINUTE },
  /** A server that dies sooner than this after starting counts as a fast failure. */
  fastFailureMs: { default: MINUTE, min: 100, max: 60 * MINUTE },
  /** Fast failures in a row after which the wrapper gives up. */
  maxFastFailures: { default: 5, min: 1, max: 100 },
  /** How long the server may take to stop after SIGTERM before it is killed. */
  stopGraceMs: { default: 10 * SECOND, min: 100, max: 5 * MINUTE },
  /** How long the upgrade command may run. */
  updateTimeoutMs: { default: 10 * MINUTE, min: SECOND, max: 60 * MINUTE },
};

export interface WrapperOptions {
  /** The server child: a program and its arguments (the CLI itself, without --wrapper). */
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Shell command that upgrades the package; none: updates restart the current version, with a warning. */
  updateCommand?: string;
  logger?: Logger;
  limits?: Partial<Record<WrapperLimitName, number>>;
  /** Stop on SIGINT/SIGTERM/SIGHUP of this process (default true; false when embedded). */
  handleSignals?: boolean;
}

/** The child's end: its code, or the signal that ended it, and how long it ran. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  ranMs: number;
}

/**
 * The supervision loop. Events: `spawn` (pid), `exit` (ChildExit), `update` ({ok, code}), `restart`
 * (delay ms before the next start).
 */
export class Wrapper extends EventEmitter {
  private readonly limits: Record<WrapperLimitName, number>;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private child: ChildProcess | undefined;
  private updating: ChildProcess | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: WrapperOptions) {
    super();
    this.limits = resolveBounded(WRAPPER_LIMITS, options.limits ?? {}, 'wrapper option');
    this.logger = options.logger ?? consoleLogger();
  }

  get childPid(): number | undefined {
    return this.child?.pid;
  }

  /** Runs until stopped or given up; resolves with the exit code for the wrapper's own process. */
  async run(): Promise<number> {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const onSignal = (sig: NodeJS.Signals) => {
      this.logger.info(`wrapper: ${sig}: stopping the server`);
      void this.stop();
    };
    if (this.options.handleSignals !== false) for (const s of signals) process.on(s, onSignal);
    try {
      return await this.loop();
    } finally {
      for (const s of signals) process.off(s, onSignal);
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after stopGraceMs) and the loop. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.abort.abort();
      if (this.updating?.pid) await killTree(this.updating.pid, this.limits.stopGraceMs);
      const child = this.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const killer = setTimeout(() => {
          this.logger.warn(`wrapper: the server did not stop within ${this.limits.stopGraceMs} ms; killing it`);
          child.kill('SIGKILL');
        }, this.limits.stopGraceMs);
        await exited;
        clearTimeout(killer);
      }
    })());
  }

  private async loop(): Promise<number> {
    const backoff = new Backoff(this.limits.restartInitialMs, this.limits.restartMaxMs);
    let fastFailures = 0;
    while (!this.abort.signal.aborted) {
      const exit = await this.runChild();
      this.emit('exit', exit);
      if (this.abort.signal.aborted) break;
      if (exit.code === RESTART_EXIT_CODE) {
        backoff.reset();
        fastFailures = 0;
        await this.upgrade();
        continue;
      }
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      if (exit.code === 0) {
        this.logger.info('wrapper: the server stopped by itself (exit code 0); the wrapper stops too');
        return 0;
      }
      if (exit.code === USAGE_EXIT_CODE) {
        this.logger.error('wrapper: the server refused its command line (exit code 2); fix the options above, not restarting');
        return USAGE_EXIT_CODE;
      }
      if (exit.ranMs >= this.limits.fastFailureMs) {
        backoff.reset();
        fastFailures = 0;
      } else {
        fastFailures++;
      }
      if (fastFailures >= this.limits.maxFastFailures) {
        this.logger.error(
          `wrapper: the server died ${fastFailures} times in a row within ${Math.round(this.limits.fastFailureMs / SECOND)} s of starting ` +
            `(last: ${how}); giving up. Run it without --wrapper to see why.`,
        );
        return exit.code || 1;
      }
      const delay = backoff.next();
      this.logger.warn(`wrapper: the server exited (${how}) after ${(exit.ranMs / SECOND).toFixed(1)} s; restarting in ${(delay / SECOND).toFixed(1)} s`);
      this.emit('restart', delay);
      try {
        await sleep(delay, undefined, { signal: this.abort.signal });
      } catch {
        break;
      }
    }
    return 0;
  }

  private runChild(): Promise<ChildExit> {
    const startedAt = Date.now();
    return new Promise((resolve) => {
      const child = spawn(this.options.command, this.options.args, {
        env: { ...(this.options.env ?? process.env), [WRAPPED_ENV]: '1' },
        stdio: 'inherit',
        windowsHide: true,
      });
      this.child = child;
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        this.child = undefined;
        resolve({ code, signal, ranMs: Date.now() - startedAt });
      };
      child.once('spawn', () => this.emit('spawn', child.pid));
      child.once('error', (err) => {
        this.logger.error(`wrapper: could not start the server (${this.options.command}): ${err.message}`);
        finish(127, null);
      });
      child.once('exit', finish);
    });
  }

  /** Runs the upgrade command; whatever it does, the loop then starts the server again. */
  private async upgrade(): Promise<void> {
    const cmd = this.options.updateCommand;
    if (!cmd) {
      this.logger.warn(
        `wrapper: update requested, but this copy was not installed with \`npm install -g\`, so there is no default upgrade: ` +
          `set --update-command or ${UPDATE_COMMAND_ENV}. Restarting the current version.`,
      );
      this.emit('update', { ok: false, code: null });
      return;
    }
    this.logger.info(`wrapper: update requested; running \`${cmd}\``);
    const child = spawnShell(cmd, { cwd: process.cwd(), env: this.options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.updating = child;
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (l) => this.logger.info(`update: ${l}`));
    const timer = setTimeout(() => {
      this.logger.error(`wrapper: the update command ran past ${Math.round(this.limits.updateTimeoutMs / SECOND)} s; stopping it`);
      if (child.pid) void killTree(child.pid);
    }, this.limits.updateTimeoutMs);
    const code = await new Promise<number | null>((resolve) => {
      child.once('error', (err) => {
        this.logger.error(`wrapper: could not run the update command: ${err.message}`);
        resolve(null);
      });
      child.once('close', (c) => resolve(c));
    });
    clearTimeout(timer);
    this.updating = undefined;
    const ok = code === 0;
    if (ok) this.logger.info('wrapper: update finished; starting the new version');
    else this.logger.error(`wrapper: the update failed (exit ${code}); starting the current version again`);
    this.emit('update', { ok, code });
  }
}

/**
 * The upgrade for a package installed with `npm install -g` (PREFIX/lib/node_modules/NAME, or
 * PREFIX\node_modules\NAME on Windows): the same install, pinned to that prefix so it replaces this
 * very copy whatever npm's configured prefix is. Undefined for anything else (a checkout, a bundle).
 */
export function defaultUpdateCommand(packageDir: string, name: string): string | undefined {
  const { basename, dirname } = platformPath(); // a Windows prefix is a Windows path, whatever tests run on
  if (basename(packageDir) !== name || basename(dirname(packageDir)) !== 'node_modules') return undefined;
  const above = dirname(dirname(packageDir));
  const prefix = isWindows ? above : basename(above) === 'lib' ? dirname(above) : undefined;
  if (!prefix) return undefined;
  return `npm install -g ${name}@latest --prefix "${prefix}"`;
}

/** The package directory of the running CLI script (`…/NAME/dist/cli.js` -> `…/NAME`), symlinks resolved. */
export function packageDirOf(script: string): string {
  let real = script;
  try {
    real = realpathSync(script);
  } catch {
    // a script that vanished (mid-upgrade) keeps its given path
  }
  return dirname(dirname(real));
}

/** The update command in force: the option, else the environment, else the npm default (if any). */
export function resolveUpdateCommand(option: string | undefined, env: NodeJS.ProcessEnv, script: string, name: string): string | undefined {
  return option?.trim() || env[UPDATE_COMMAND_ENV]?.trim() || defaultUpdateCommand(packageDirOf(script), name);
}
