// One server per state dir. A second server on the same dir would load the first one's jobs, take the
// running ones for leftovers of a crash (marking them interrupted and killing their processes) and remove
// its spare job folders: opening a second VS Code window, or starting a second `agent-server` on another
// port, must not do that.
//
// The lock is a local socket named after the state dir, which its server listens on: an abstract socket
// on Linux and a named pipe on Windows, which the OS removes the moment their process dies, so there is no
// stale lock, no pid to trust and no race between two servers starting at once (the second bind fails).
// macOS has neither; there it is a socket file in the temp folder, and one that refuses connections is
// left over from a server that died, and replaced (one that accepts but is slow to answer is a live
// server, busy: never taken). The holder answers whoever connects with its pid.
import { createHash } from 'node:crypto';
import { realpathSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWindows, sleep } from './platform';

/** How often a waiting server tries the lock again. */
const RETRY_MS = 100;
/** How long a holder has to say who it is. */
const ASK_MS = 1000;

/** The state dir's lock is held by another server (`holderPid`, when it said who it is). */
export class StateDirInUse extends Error {
  constructor(
    readonly stateDir: string,
    readonly holderPid: number | undefined,
  ) {
    const who = holderPid === undefined ? '' : holderPid === process.pid ? ` (pid ${holderPid}, this very process)` : ` (pid ${holderPid})`;
    super(`the state dir ${stateDir} is in use by another agent-server${who}; each server needs its own (--state-dir)`);
  }
}

/**
 * Takes the state dir's lock, waiting up to `waitMs` for a live holder to let go (a server that is shutting
 * down, as when VS Code reloads a window, ends its jobs first). Resolves with the function that releases it.
 */
export async function lockStateDir(stateDir: string, waitMs: number): Promise<() => void> {
  const address = lockAddress(stateDir);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const server = await bind(address);
    if (server) return () => server.close();
    const holder = await askHolder(address);
    if (holder === 'gone' && process.platform === 'darwin') {
      rmSync(address, { force: true }); // a socket file nobody listens on: its server died
      continue;
    }
    if (Date.now() >= deadline) throw new StateDirInUse(stateDir, typeof holder === 'number' ? holder : undefined);
    await sleep(RETRY_MS);
  }
}

/** Who holds `stateDir`'s lock, without taking it: a pid, `busy` (held, silent), or `gone` (free). */
export function probeStateDir(stateDir: string): Promise<number | 'gone' | 'busy'> {
  return askHolder(lockAddress(stateDir));
}

/** Where the lock of `stateDir` listens: one name per folder, however the folder is spelled. */
export function lockAddress(stateDir: string): string {
  const real = realpathSync(stateDir);
  const id = createHash('sha256').update(isWindows ? real.toLowerCase() : real).digest('hex').slice(0, 32);
  if (isWindows) return `\\\\?\\pipe\\agent-runtime-${id}`;
  if (process.platform === 'linux') return `\0agent-runtime-${id}`;
  return join(tmpdir(), `agent-runtime-${id}.sock`);
}

/** A server holding the lock, or undefined when another holds it already. */
function bind(address: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end(String(process.pid)));
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(address, () => {
      server.unref(); // the lock never keeps the process alive
      resolve(server);
    });
  });
}

/**
 * The holder's pid; `gone` when nobody listens (it just let go, or died leaving a socket file); `busy` when
 * it accepted but did not say who it is within ASK_MS (alive, its event loop blocked).
 */
export function askHolder(address: string): Promise<number | 'gone' | 'busy'> {
  return new Promise((resolve) => {
    let answer = '';
    let refused = false;
    const socket = connect(address);
    socket.setTimeout(ASK_MS, () => socket.destroy());
    socket.on('data', (d) => (answer += d));
    socket.on('error', (err: NodeJS.ErrnoException) => (refused = err.code === 'ECONNREFUSED' || err.code === 'ENOENT'));
    socket.on('close', () => resolve(/^\d+$/.test(answer) ? Number(answer) : refused ? 'gone' : 'busy'));
  });
}
