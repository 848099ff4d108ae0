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

export type HelperRequest = SpawnRequest | InputRequest;

export type HelperMessage =
  | { op: 'ready' }
  | { op: 'spawned'; id: number; pid: number }
  /** Writing to the job's stdin failed (the child closed it): later input is refused, not lost silently. */
  | { op: 'stdin-closed'; id: number }
  | { op: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { op: 'error'; id: number; message: string };
