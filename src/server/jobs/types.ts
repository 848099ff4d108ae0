// The shapes shared by the job store, the runners of each execution mode, and the HTTP layer.

/** The seed's statuses. Its clients stop polling only on the last three, so no other final status exists. */
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'timeout';
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'timeout'];

/** Why a job ended (docs/API.md). */
export type EndReason = 'exit' | 'timeout' | 'cancelled' | 'interrupted' | 'error';

/** Why a running job is being stopped from outside. */
export type CancelReason = 'cancel' | 'timeout' | 'shutdown';

export type ExecMode = 'shell' | 'persistent_shell' | 'acp';

/** What is persisted for a job (records survive a restart of the server). */
export interface JobRecord {
  jobId: string;
  mode: ExecMode;
  status: JobStatus;
  command: string;
  workdir: string;
  /** Seconds. */
  timeout: number;
  /** Unix seconds (float), as the predecessor's (docs/COMPATIBILITY.md). */
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number | null;
  durationMs?: number;
  timedOut?: boolean;
  endReason?: EndReason;
  cancelled?: boolean;
  interrupted?: boolean;
  error?: string;
  /** The process (group leader) running the job, so a restarted server can end what a dead one left. */
  pid?: number;
  idempotencyKey?: string;
  /** Mode-specific response fields (ACP: acpSessionId, stopReason…; persistent shell: sessionKey, shell…). */
  fields: Record<string, unknown>;
}

/** How a job ends, as told by its runner. */
export interface JobOutcome {
  status: Exclude<JobStatus, 'pending' | 'running'>;
  endReason: EndReason;
  exitCode?: number | null;
  error?: string;
  fields?: Record<string, unknown>;
}

/** What a runner may do to the job it runs. */
export interface JobContext {
  readonly jobId: string;
  readonly workdir: string;
  /** Milliseconds until the deadline set by the job's `timeout`. */
  readonly timeoutMs: number;
  /** Environment of the server with the job's `env` overlay applied. */
  readonly env: NodeJS.ProcessEnv;
  /** Absolute paths of the stdout/stderr logs, for runners whose child writes into them directly. */
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Appends to the job's output (for runners that produce output themselves). */
  appendStdout(data: string | Buffer): void;
  appendStderr(data: string | Buffer): void;
  /** Records a structured event (ACP's `session/update`s, permission decisions…): kept, and streamed as `acp`. */
  event(type: string, data: unknown): void;
  /** Merges mode-specific fields into the job's response (persisted). */
  setFields(fields: Record<string, unknown>): void;
  /** Records the pid of the process group leader, for orphan cleanup after a crash. */
  setPid(pid: number | undefined): void;
  /** Tells the store that output was written to the log files directly (wakes long-polls and streams). */
  touched(): void;
}

/** A job in flight, as its runner exposes it to the API. */
export interface RunningJob {
  /** Resolves with the job's outcome; the store records it. */
  readonly done: Promise<JobOutcome>;
  /**
   * Ends the work (kills the process tree, or cancels the ACP turn), then `done` resolves. The job store
   * turns the outcome into the status the reason calls for (`timeout`, or `failed` with `cancelled` /
   * `interrupted`), so a runner only needs the reason to shape its own fields (ACP's `stopReason`).
   */
  cancel(reason: CancelReason): void;
  /** Writes to the job's stdin; `eof` closes it. Returns why not when it cannot. */
  write(data: string, eof: boolean): { ok: true } | { ok: false; reason: string };
  alive(): boolean;
}

/**
 * One execution mode (`shell`, `persistent_shell`, `acp`). `parse` validates the body of `POST /exec` and
 * throws `BadRequest` with a clear message; `start` runs the parsed spec.
 */
export interface ModeRunner<Spec = unknown> {
  readonly mode: ExecMode;
  parse(body: Record<string, unknown>, common: CommonSpec): Spec;
  /** The seed's `command` field for this job (e.g. `[acp] copilot --acp --stdio`). */
  describe(spec: Spec): { command: string; fields?: Record<string, unknown> };
  start(spec: Spec, ctx: JobContext): RunningJob;
  /** Extra `/health` fields of this mode. */
  health?(): Record<string, unknown>;
  /** Counts toward `POST /update`'s refusal while busy (e.g. live persistent shells). */
  activeCount?(): number;
  /** Routes of this mode (e.g. `/sessions`, ACP permission answers), mounted behind the API key. */
  routes?(): import('../http/route-spec').RouteSpec[];
  dispose?(): Promise<void>;
}

/** Fields every mode shares, validated once. */
export interface CommonSpec {
  workdir: string;
  timeoutS: number;
  env: Record<string, string> | undefined;
}
