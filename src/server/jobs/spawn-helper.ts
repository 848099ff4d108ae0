// The spawn helper: a small process that starts the shell jobs on the server's behalf.
//
// Why a second process: fork copies the parent's page tables, so starting a child takes time in
// proportion to the parent's memory, and Node forks on its event loop. The server holds 85 MiB or more
// (several hundred MiB in a VS Code extension host), this helper about 7 MiB of its own; and the fork
// happens here, on the other core, while the server goes on answering (docs/PERFORMANCE.md).
//
// Protocol: one JSON object per line. In, on stdin: `spawn` and `input` requests (see SpawnRequest,
// InputRequest), and `guard` and `release` of trees the server started itself (GuardRequest). Out, on
// stdout: `spawned` (with the pid), `stdin-closed`, `exit` (with the code or signal), or `error` (the job
// never started); `ready` first of all. When stdin ends or stdout breaks, the server is gone: the helper
// ends every job it started and every tree it guards, so no process outlives a server that died, then
// exits. Signals are the server's to act on (a terminal's Ctrl+C, a service manager's TERM): the helper
// ignores them, and ends with the server.
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { signalTree } from '../../common/platform';
import { startShell, type ProcessTree } from '../../common/process';
import type { HelperMessage, HelperRequest } from './spawn-protocol';

const jobs = new Map<number, ProcessTree>();
/** Trees the server started itself, by request id: their leaders' pids. */
const guarded = new Map<number, number>();

function send(message: HelperMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function spawnJob(id: number, command: string, cwd: string, env: NodeJS.ProcessEnv, stdoutPath: string, stderrPath: string): void {
  let out: number | undefined;
  let err: number | undefined;
  let job: ProcessTree;
  try {
    out = openSync(stdoutPath, 'a', 0o600);
    err = openSync(stderrPath, 'a', 0o600);
    // What the command left running in its group ends with it: no process outlives its job.
    job = startShell(command, { cwd, env, stdio: ['pipe', out, err], leftovers: 'kill' });
  } catch (e) {
    send({ op: 'error', id, message: (e as Error).message });
    return;
  } finally {
    if (out !== undefined) closeSync(out); // the child holds its own copies
    if (err !== undefined) closeSync(err);
  }
  // EPIPE: the child closed its stdin. Not our failure, but what is written next would be lost: say so.
  job.child.stdin!.on('error', () => send({ op: 'stdin-closed', id }));
  void job.exited.then(({ code, signal, error }) => {
    jobs.delete(id);
    send(error ? { op: 'error', id, message: error.message } : { op: 'exit', id, code, signal });
  });
  if (job.pid === undefined) return; // exited tells why
  jobs.set(id, job);
  send({ op: 'spawned', id, pid: job.pid });
}

function handle(request: HelperRequest): void {
  if (request.op === 'spawn') {
    spawnJob(request.id, request.command, request.cwd, request.env, request.stdout, request.stderr);
  } else if (request.op === 'input') {
    const stdin = jobs.get(request.id)?.child.stdin;
    if (!stdin || stdin.writableEnded) return;
    if (request.data) stdin.write(request.data);
    if (request.eof) stdin.end();
  } else if (request.op === 'guard') {
    guarded.set(request.id, request.pid);
  } else if (request.op === 'release') {
    guarded.delete(request.id);
  }
}

function serverGone(): void {
  for (const job of jobs.values()) job.killNow();
  for (const pid of guarded.values()) signalTree(pid, 'SIGKILL');
  process.exit(0);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
// A broken stdout means the server is gone, but what it sent before dying may still wait unread in stdin
// (a tree to guard among it, when this helper was started just before): stdin's end, right behind, ends
// everything once all is read. The timer is for a stdin that would not end.
process.stdout.on('error', () => setTimeout(serverGone, 2000));
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => handle(JSON.parse(line) as HelperRequest));
lines.on('close', serverGone);
send({ op: 'ready' });
