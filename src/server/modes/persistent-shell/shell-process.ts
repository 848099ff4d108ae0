// One running shell of a persistent session: spawned in its own process group with its driver loop,
// running one step (a command file) at a time and telling where each step's output ends.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { startProgram, type ProcessTree } from '../../../common/process';
import { helperGuard } from '../../jobs/spawner';
import { newTerminator, TerminatorScanner } from './boundary';
import type { Dialect } from './dialects';

export interface StepSinks {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

export interface StepResult {
  exitCode: number | null;
  /** `exit`: the step returned; `shell-exit`: the shell itself ended; `killed`: we ended it; `error`: it could not run. */
  ending: 'exit' | 'shell-exit' | 'killed' | 'error';
  error?: string;
}

interface Step {
  files: string[];
  out: TerminatorScanner;
  err: TerminatorScanner;
  resolve(r: StepResult): void;
}

/** How long the output pipes may stay open after the shell died (held by a process that left its group). */
const DRAIN_AFTER_EXIT_MS = 1000;

export class ShellProcess {
  readonly startedAt = Date.now() / 1000;
  private readonly tree: ProcessTree;
  private readonly child: ChildProcess;
  private step: Step | undefined;
  private killing = false;
  private readonly ended: Promise<void>;

  constructor(
    file: string,
    private readonly dialect: Dialect,
    private readonly dir: string,
    opts: { cwd: string; env: NodeJS.ProcessEnv; onOutput(): void },
  ) {
    this.tree = startProgram(file, dialect.args(dir), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: dialect.separateInput ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
      // A server killed outright cannot end the shell: the spawn helper does, as it does for shell jobs.
      guard: helperGuard,
      // What the session started in the background dies with its shell: nothing outlives the session.
      leftovers: 'kill',
    });
    this.child = this.tree.child;
    for (const s of this.child.stdio) (s as NodeJS.EventEmitter | null)?.on('error', () => {}); // EPIPE once the shell is gone
    this.child.stdout!.on('data', (c: Buffer) => {
      opts.onOutput();
      this.route(c, 'out');
    });
    this.child.stderr!.on('data', (c: Buffer) => {
      opts.onOutput();
      this.route(c, 'err');
    });
    this.ended = this.tree.exited.then(async ({ code, signal, error }) => {
      if (error) return this.finishStep({ exitCode: null, ending: 'error', error: `cannot start the shell ${file}: ${error.message}` });
      await this.tree.drained(DRAIN_AFTER_EXIT_MS);
      for (const s of this.child.stdio) s?.destroy();
      this.step?.out.flush();
      this.step?.err.flush();
      const exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : null);
      if (this.killing) this.finishStep({ exitCode: null, ending: 'killed' });
      else this.finishStep({ exitCode, ending: 'shell-exit', error: `the shell exited (${signal ?? `code ${code}`})` });
    });
    if (dialect.prelude) this.child.stdin!.write(dialect.prelude);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  alive(): boolean {
    return this.tree.alive();
  }

  /** Runs `command` in the shell; resolves once its output and status are in (or the shell is gone). */
  run(command: string, sinks: StepSinks): Promise<StepResult> {
    if (!this.alive()) return Promise.resolve({ exitCode: null, ending: 'error', error: 'the shell is not running' });
    if (this.step) throw new Error('a step is already running in this shell'); // the session serialises
    const id = randomBytes(8).toString('hex');
    const terminator = newTerminator();
    const files = this.dialect.commandFiles(this.dir, id, command, terminator);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 }); // back if a temp cleaner took it from an idle session
    for (const [name, content] of files) writeFileSync(join(this.dir, name), content, { mode: 0o600 });
    return new Promise<StepResult>((resolve) => {
      this.step = {
        files: files.map(([name]) => join(this.dir, name)),
        out: new TerminatorScanner(terminator, sinks.stdout, true),
        err: new TerminatorScanner(terminator, sinks.stderr, false),
        resolve,
      };
      this.child.stdin!.write(this.dialect.controlLine(this.dir, id));
    });
  }

  /** Writes to what the running command reads as stdin. */
  input(data: string): void {
    const target = this.dialect.separateInput ? this.child.stdio[3] : this.child.stdin;
    (target as NodeJS.WritableStream).write(data);
  }

  /** Ends the shell and everything in its process group; a running step ends as `killed`. */
  async kill(graceMs: number): Promise<void> {
    if (this.alive()) {
      this.killing = true;
      await this.tree.end(graceMs);
    }
    await this.ended;
  }

  private route(chunk: Buffer, which: 'out' | 'err'): void {
    const step = this.step;
    if (!step) return; // output of something the last command left running, between commands: nobody's
    step[which].push(chunk);
    if (step.out.done && step.err.done) {
      const status = step.out.line.trim();
      this.finishStep({ exitCode: /^-?\d+$/.test(status) ? Number(status) : null, ending: 'exit' });
    }
  }

  private finishStep(result: StepResult): void {
    const step = this.step;
    if (!step) return;
    this.step = undefined;
    for (const file of step.files) rmSync(file, { force: true });
    step.resolve(result);
  }
}
