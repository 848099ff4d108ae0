// The lines the server and its spawn helper exchange (one JSON object per line; see spawn-helper.ts).

/** Start `command` through the platform shell, its stdout and stderr appended to the two files. */
export interface SpawnRequest {
  op: 'spawn';
  id: number;
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: string;
  stderr: string;
}

/** Write to a job's stdin; `eof` closes it. */
export interface InputRequest {
  op: 'input';
  id: number;
  data: string;
  eof: boolean;
}

/**
 * Watch a process tree the server started itself (a persistent shell, an ACP agent, whose pipes it reads
 * directly): the helper ends it with the jobs if the server dies.
 */
export interface GuardRequest {
  op: 'guard';
  id: number;
  pid: number;
}

/** The guarded tree is gone (or the server ends it itself): stop watching it. */
export interface ReleaseRequest {
  op: 'release';
  id: number;
}

export type HelperRequest = SpawnRequest | InputRequest | GuardRequest | ReleaseRequest;

export type HelperMessage =
  | { op: 'ready' }
  | { op: 'spawned'; id: number; pid: number }
  /** Writing to the job's stdin failed (the child closed it): later input is refused, not lost silently. */
  | { op: 'stdin-closed'; id: number }
  | { op: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { op: 'error'; id: number; message: string };
