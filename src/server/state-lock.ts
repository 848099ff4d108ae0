// One server per state dir. A second server on the same dir would load the first one's jobs, take the
// running ones for leftovers of a crash (marking them interrupted and killing their processes) and remove
// its spare job folders: opening a second VS Code window, or starting a second `agent-server` on another
// port, must not do that. The lock is a file naming its holder's pid and start time; a holder that is
// gone (killed, crashed) leaves a stale lock, which the next server takes over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime, sleep } from './platform';

export const LOCK_FILE = 'server.lock';
/** How often a waiting server looks again at a lock held by a live server. */
const RETRY_MS = 100;

interface Holder {
  pid: number;
  startedAt: number | null;
}

/**
 * Takes the state dir's lock, waiting up to `waitMs` for a live holder to let go (a server that is shutting
 * down, as when VS Code reloads a window, ends its jobs first). Resolves with the function that releases it.
 */
export async function lockStateDir(stateDir: string, waitMs: number): Promise<() => void> {
  const path = join(stateDir, LOCK_FILE);
  const mine: Holder = { pid: process.pid, startedAt: processStartTime(process.pid) ?? null };
  const text = JSON.stringify(mine);
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (create(path, text)) return () => releaseIfMine(path, text);
    const holder = readHolder(path);
    if (holder === 'unreadable' || (holder && !isAlive(holder))) {
      removeIfUnchanged(path, holder); // stale: its server is gone (or was cut off while writing it)
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `another agent-server (pid ${holder.pid})` : 'another agent-server';
      throw new Error(`the state dir ${stateDir} is in use by ${who}; each server needs its own (--state-dir), and if none runs, remove ${path}`);
    }
    await sleep(RETRY_MS);
  }
}

/** Creates the lock file if none exists; false when one does. */
function create(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The lock's holder; undefined when the file is gone or still empty (its creator is writing it). */
function readHolder(path: string): Holder | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  if (text === '') return undefined;
  try {
    const holder = JSON.parse(text) as Holder;
    return Number.isInteger(holder.pid) ? holder : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** The holder still runs: its pid is alive and, where the OS tells, started when the lock says. */
function isAlive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartTime(holder.pid);
  return started === undefined || holder.startedAt === null || Math.abs(started - holder.startedAt) < 5;
}

function removeIfUnchanged(path: string, seen: Holder | 'unreadable'): void {
  const now = readHolder(path);
  if (JSON.stringify(now) === JSON.stringify(seen)) rmSync(path, { force: true });
}

function releaseIfMine(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}
