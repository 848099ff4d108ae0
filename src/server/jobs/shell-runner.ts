// `mode: "shell"` (the default): the command runs through the platform's shell in its own process
// group, writing straight into the job's log files.
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { BadRequest } from '../errors';
import { killTree, signalTree, spawnShell, isWindows } from '../platform';
import type { CommonSpec, JobContext, JobOutcome, ModeRunner, RunningJob } from './types';

interface ShellSpec extends CommonSpec {
  command: string;
}

export class ShellRunner implements ModeRunner<ShellSpec> {
  readonly mode = 'shell' as const;

  constructor(private readonly killGraceMs: number) {}

  parse(body: Record<string, unknown>, common: CommonSpec): ShellSpec {
    const command = body.command;
    if (command === undefined || command === null || command === '') throw new BadRequest('command is required');
    if (typeof command !== 'string') throw new BadRequest('command must be a string');
    if (command.includes('\0')) throw new BadRequest('command must not contain NUL characters');
    return { ...common, command };
  }

  describe(spec: ShellSpec) {
    return { command: spec.command };
  }

  start(spec: ShellSpec, ctx: JobContext): RunningJob {
    const out = openSync(ctx.stdoutPath, 'a', 0o600);
    const err = openSync(ctx.stderrPath, 'a', 0o600);
    let child;
    try {
      child = spawnShell(spec.command, { cwd: spec.workdir, env: ctx.env, stdio: ['pipe', out, err] });
    } finally {
      closeSync(out); // the child holds its own copies
      closeSync(err);
    }
    const pid = child.pid;
    ctx.setPid(pid);
    let exited = false;
    child.stdin!.on('error', () => {}); // EPIPE after the child closed stdin is not our failure
    const done = new Promise<JobOutcome>((resolve) => {
      child.once('error', (e) => {
        exited = true;
        ctx.appendStderr(`${e.message}\n`);
        resolve({ status: 'failed', endReason: 'error', exitCode: 1, error: e.message });
      });
      child.once('exit', (code, signal) => {
        exited = true;
        // What the command left running in its group ends with it: no process outlives its job.
        if (pid !== undefined && !isWindows) signalTree(pid, 'SIGKILL');
        ctx.touched();
        const exitCode = code ?? -signalNumber(signal);
        resolve({ status: exitCode === 0 ? 'completed' : 'failed', endReason: 'exit', exitCode });
      });
    });
    return {
      done,
      alive: () => !exited,
      cancel: () => {
        if (pid !== undefined && !exited) void killTree(pid, this.killGraceMs);
      },
      write: (data, eof) => {
        const stdin = child.stdin!;
        if (exited) return { ok: false, reason: 'process not running' };
        if (stdin.writableEnded || stdin.destroyed) return { ok: false, reason: 'stdin is closed' };
        stdin.write(data);
        if (eof) stdin.end();
        return { ok: true };
      },
    };
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) || 1;
}
