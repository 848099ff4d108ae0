// `mode: "shell"` (the default): the command runs through the platform's shell in its own process
// group, writing straight into the job's log files. The spawn helper starts it (spawner.ts says why).
import { constants } from 'node:os';
import { BadRequest } from '../../errors';
import { killTree } from '../../../common/platform';
import { Spawner } from '../../jobs/spawner';
import type { CommonSpec, JobContext, JobOutcome, ModeRunner, RunningJob } from '../../jobs/types';

interface ShellSpec extends CommonSpec {
  command: string;
}

export class ShellRunner implements ModeRunner<ShellSpec> {
  readonly mode = 'shell' as const;
  private readonly spawner = new Spawner();

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
    let pid: number | undefined;
    let exited = false;
    let cancelled = false;
    let stdinClosed = false;
    let end!: (outcome: JobOutcome) => void;
    const done = new Promise<JobOutcome>((resolve) => {
      end = (outcome) => {
        exited = true;
        resolve(outcome);
      };
    });
    const child = this.spawner.spawn(
      { command: spec.command, cwd: spec.workdir, env: ctx.env, stdout: ctx.stdoutPath, stderr: ctx.stderrPath },
      {
        spawned: (p) => {
          pid = p;
          ctx.setPid(p);
          if (cancelled) void killTree(p, this.killGraceMs); // cancelled before the helper answered
        },
        stdinClosed: () => {
          stdinClosed = true;
        },
        exit: (code, signal) => {
          ctx.touched();
          const exitCode = code ?? -signalNumber(signal);
          end({ status: exitCode === 0 ? 'completed' : 'failed', endReason: 'exit', exitCode });
        },
        failed: (message) => {
          ctx.appendStderr(`${message}\n`);
          end({ status: 'failed', endReason: 'error', exitCode: 1, error: message });
        },
      },
    );
    return {
      done,
      alive: () => !exited,
      cancel: () => {
        if (exited) return;
        cancelled = true;
        if (pid !== undefined) void killTree(pid, this.killGraceMs);
      },
      write: (data, eof) => {
        if (exited) return { ok: false, reason: 'process not running' };
        if (stdinClosed) return { ok: false, reason: 'stdin is closed' };
        child.input(data, eof);
        stdinClosed = eof;
        return { ok: true };
      },
    };
  }

  dispose(): Promise<void> {
    return this.spawner.dispose();
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) || 1;
}
