// The jobs that exist: created here, persisted under `<stateDir>/jobs/<id>/`, found again after a
// restart, and forgotten by count and age.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log';
import { processStartTime, signalTree } from '../../common/platform';
import { Job, LOG_FILES, RECORD_FILE, readRecord } from './job';
import type { ExecMode, JobRecord } from './types';

export interface StoreLimits {
  maxJobsKept: number;
  jobRetentionSeconds: number;
  idempotencyTtlSeconds: number;
}

/** How often creating a job also forgets expired ones (the count limit is kept at every create). */
const PRUNE_EVERY_MS = 60_000;

export class JobStore {
  private readonly jobs = new Map<string, Job>();
  private readonly byIdempotencyKey = new Map<string, Job>();
  private prunedAt = 0;
  readonly dir: string;

  constructor(
    stateDir: string,
    private readonly limits: StoreLimits,
    private readonly logger: Logger,
  ) {
    this.dir = join(stateDir, 'jobs');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Loads the records a previous run left. A job that was pending or running then is over now: it is
   * marked interrupted (a final status the predecessor's clients understand) and whatever of its process group
   * survived the old server is ended, so no process outlives its job.
   */
  load(): void {
    const found: Job[] = [];
    for (const id of readdirSync(this.dir)) {
      const job = this.read(id);
      if (job) found.push(job);
      else rmSync(join(this.dir, id), { recursive: true, force: true }); // made for a job whose record was never saved
    }
    // In the order they came, as new jobs are added: the count limit forgets the first finished ones.
    for (const job of found.sort((a, b) => a.record.submittedAt - b.record.submittedAt)) {
      job.events.load();
      if (!job.isFinal()) this.markInterrupted(job);
      this.add(job);
    }
    this.prune();
  }

  /** A new pending job, in a folder with empty logs; the caller saves its record. */
  create(init: { mode: ExecMode; command: string; workdir: string; timeout: number; idempotencyKey?: string; fields?: Record<string, unknown> }): Job {
    const jobId = newJobId();
    const dir = join(this.dir, jobId);
    mkdirSync(dir, { recursive: true, mode: 0o700 }); // and jobs/, if something removed it meanwhile
    for (const name of LOG_FILES) closeSync(openSync(join(dir, name), 'a', 0o600));
    const record: JobRecord = {
      jobId,
      mode: init.mode,
      status: 'pending',
      command: init.command,
      workdir: init.workdir,
      timeout: init.timeout,
      submittedAt: Date.now() / 1000,
      idempotencyKey: init.idempotencyKey,
      fields: init.fields ?? {},
    };
    const job = new Job(record, dir);
    this.add(job);
    this.pruneIfDue();
    return job;
  }

  /**
   * Deletes a forgotten job's folder off the event loop (a folder and its files can take milliseconds to
   * delete on a busy disk). What a failed or unfinished delete leaves still holds its record: the job
   * comes back at the next start, and is forgotten again.
   */
  private deleteFolder(dir: string): void {
    rm(dir, { recursive: true, force: true }).catch((err: Error) => this.logger.warn(`jobs: could not delete ${dir}: ${err.message}`));
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** The job started earlier with this `Idempotency-Key`, while the key is remembered. */
  findByIdempotencyKey(key: string): Job | undefined {
    const job = this.byIdempotencyKey.get(key);
    if (job && Date.now() / 1000 - job.record.submittedAt <= this.limits.idempotencyTtlSeconds) return job;
    return undefined;
  }

  /** Newest first. */
  recent(limit: number): Job[] {
    return [...this.jobs.values()].sort((a, b) => b.record.submittedAt - a.record.submittedAt).slice(0, limit);
  }

  all(): Job[] {
    return [...this.jobs.values()];
  }

  size(): number {
    return this.jobs.size;
  }

  /** Keeps the count limit; the age limit at most once a minute (it looks at every job). */
  private pruneIfDue(): void {
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) this.prune();
    else this.keepCount();
  }

  /** Forgets finished jobs past the age limit, then the oldest finished ones past the count limit. */
  prune(): void {
    this.prunedAt = Date.now();
    const expired = Date.now() / 1000 - this.limits.jobRetentionSeconds;
    for (const job of this.jobs.values()) {
      if (job.isFinal() && (job.record.finishedAt ?? job.record.submittedAt) < expired) this.remove(job);
    }
    this.keepCount();
  }

  /** The oldest finished jobs go first: the map holds jobs in the order they came. */
  private keepCount(): void {
    let excess = this.jobs.size - this.limits.maxJobsKept;
    for (const job of this.jobs.values()) {
      if (excess <= 0) return;
      if (!job.isFinal()) continue;
      this.remove(job);
      excess--;
    }
  }

  private add(job: Job): void {
    this.jobs.set(job.id, job);
    if (job.record.idempotencyKey) this.byIdempotencyKey.set(job.record.idempotencyKey, job);
  }

  /** Forgets a job now; its folder is deleted in the background. */
  private remove(job: Job): void {
    job.stopWatching();
    job.stdout.close(); // output that came after the end reopened it
    job.stderr.close();
    this.jobs.delete(job.id);
    if (job.record.idempotencyKey && this.byIdempotencyKey.get(job.record.idempotencyKey) === job) {
      this.byIdempotencyKey.delete(job.record.idempotencyKey);
    }
    this.deleteFolder(job.dir);
  }

  /**
   * A job as its record says. A record that cannot be read (a power cut can leave one cut short: saves
   * are not synced to disk) still names a job whose output is there: it comes back as interrupted, with
   * what is known, so its output stays reachable and retention removes it in time. A folder without a
   * record (the server died between making it and the job's first save) is no job: undefined.
   */
  private read(id: string): Job | undefined {
    const dir = join(this.dir, id);
    if (!existsSync(join(dir, RECORD_FILE))) return undefined;
    try {
      const record = readRecord(dir);
      record.fields ??= {};
      return new Job(record, dir);
    } catch (err) {
      const why = (err as Error).message;
      this.logger.warn(`jobs: record ${id} is unreadable (${why}); keeping the job as interrupted`);
      const submittedAt = statSync(dir).mtimeMs / 1000;
      const error = `its record was unreadable after the server stopped (${why})`;
      const record: JobRecord = { jobId: id, mode: 'shell', status: 'running', command: '', workdir: '', timeout: 0, submittedAt, error, fields: {} };
      return new Job(record, dir); // load() marks it interrupted
    }
  }

  private markInterrupted(job: Job): void {
    const r = job.record;
    if (r.pid && r.startedAt && sameProcess(r.pid, r.startedAt)) signalTree(r.pid, 'SIGKILL');
    const now = Date.now() / 1000;
    Object.assign(r, {
      status: 'failed',
      endReason: 'interrupted',
      interrupted: true,
      exitCode: r.exitCode ?? null,
      finishedAt: now,
      durationMs: r.startedAt ? Math.round((now - r.startedAt) * 1000) : 0,
      timedOut: false,
      error: r.error ?? 'the server stopped while this job was running',
    });
    job.save();
    this.logger.info(`jobs: ${job.id} was running when the server stopped; marked interrupted`);
  }
}

/** 12 hex characters, as the predecessor's ids; a job's folder is named for it. */
function newJobId(): string {
  return randomBytes(6).toString('hex');
}

/** True when `pid` still names the process started at `startedAt` (not a later process given the same pid). */
function sameProcess(pid: number, startedAt: number): boolean {
  const started = processStartTime(pid);
  return started !== undefined && Math.abs(started - startedAt) < 5;
}
