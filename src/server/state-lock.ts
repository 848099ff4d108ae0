// One server per state dir. A second server on the same dir would load the first one's jobs, take the
// running ones for leftovers of a crash (marking them interrupted and killing their processes) and remove
// its spare job folders: opening a second VS Code window, or starting a second `agent-server` on another
// port, must not do that.
//
// The lock is a local socket named after the state dir, which its server listens on: an abstract socket
// on Linux and a named pipe on Windows, which the OS removes the moment their process dies, so there is no
// stale lock, no pid to trust and no race between two servers starting at once (the second bind fails).
// macOS has neither; there it is a socket file in the user's own temp folder, and one that refuses
// connections is left over from a server that died, and replaced (one that accepts but is slow to answer
// is a live server, busy: never taken).
//
// Abstract sockets and pipes are one namespace for every user of the machine, and their names are visible
// to all (/proc/net/unix), so a name made from the folder alone could be bound by another user first, and
// the server would never start. The name therefore also holds a secret kept in the state dir (`lock-secret`,
// 0600 in the 0700 dir, docs/API.md), and the holder proves it knows it: whoever connects sends a nonce,
// the holder answers with its pid and an HMAC of the nonce under the secret. A holder that cannot answer so
// is an impostor squatting a name it saw: the secret is replaced, which moves the lock to a name nobody
// has seen. One that accepts and stays silent is a busy server of ours only if one of this user's processes
// holds the socket (Linux tells, in /proc; elsewhere it is believed). (Two servers starting in the same instant while an impostor squats could both move it; the
// re-read below narrows that to the moment between the two renames.)
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWindows, sleep } from '../common/platform';

/** How often a waiting server tries the lock again. */
const RETRY_MS = 100;
/** How long a holder has to say who it is. */
const ASK_MS = 1000;
/** The file in the state dir whose secret is part of the lock's name. */
export const LOCK_SECRET_FILE = 'lock-secret';
/** A state dir whose lock keeps being squatted is given up on after this many new names. */
const MAX_RENAMES = 5;

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

/** Who holds a lock: a proven pid, `gone` (free), `busy` (held, silent), or `impostor` (held, cannot prove it). */
export type Holder = number | 'gone' | 'busy' | 'impostor';

/**
 * Takes the state dir's lock, waiting up to `waitMs` for a live holder to let go (a server that is shutting
 * down, as when VS Code reloads a window, ends its jobs first). Resolves with the function that releases it.
 */
export async function lockStateDir(stateDir: string, waitMs: number): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  let renames = 0;
  for (;;) {
    const secret = readSecret(stateDir) ?? createSecret(stateDir);
    const address = lockAddress(stateDir, secret);
    const server = await bind(address, secret);
    if (server) {
      // Moved to another name meanwhile (an impostor was met): the lock is wherever the secret now says.
      if (readSecret(stateDir)?.equals(secret)) return () => server.close();
      server.close();
      continue;
    }
    let holder = await askHolder(address, secret);
    if (holder === 'busy' && !silentHolderIsOurs(address)) holder = 'impostor';
    if (holder === 'impostor') {
      if (++renames > MAX_RENAMES) throw new Error(`the lock of the state dir ${stateDir} is squatted by another user's process, name after name`);
      replaceSecret(stateDir, secret);
      continue;
    }
    if (holder === 'gone' && process.platform === 'darwin') {
      rmSync(address, { force: true }); // a socket file nobody listens on: its server died
      continue;
    }
    if (Date.now() >= deadline) throw new StateDirInUse(stateDir, typeof holder === 'number' ? holder : undefined);
    await sleep(RETRY_MS);
  }
}

/** Who holds `stateDir`'s lock, without taking it: a pid, `busy` (held, silent), or `gone` (free, or squatted). */
export async function probeStateDir(stateDir: string): Promise<number | 'gone' | 'busy'> {
  const secret = readSecret(stateDir);
  if (!secret) return 'gone';
  const address = lockAddress(stateDir, secret);
  const holder = await askHolder(address, secret);
  if (holder === 'busy' && !silentHolderIsOurs(address)) return 'gone';
  return holder === 'impostor' ? 'gone' : holder; // a start moves the lock away from an impostor
}

/** Where the lock of `stateDir` listens: one name per folder (however it is spelled) and secret. */
export function lockAddress(stateDir: string, secret: Buffer): string {
  const real = realpathSync(stateDir);
  const id = createHash('sha256')
    .update(isWindows ? real.toLowerCase() : real)
    .update('\0')
    .update(secret)
    .digest('hex')
    .slice(0, 32);
  if (isWindows) return `\\\\?\\pipe\\agent-runtime-${id}`;
  if (process.platform === 'linux') return `\0agent-runtime-${id}`;
  return join(tmpdir(), `agent-runtime-${id}.sock`); // macOS: TMPDIR is the user's own folder
}

function readSecret(stateDir: string): Buffer | undefined {
  try {
    const secret = readFileSync(join(stateDir, LOCK_SECRET_FILE));
    return secret.length >= 16 ? secret : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a secret whole under a temporary name first, so nobody ever reads half of one. */
function writeTemp(stateDir: string): string {
  const tmp = join(stateDir, `${LOCK_SECRET_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, randomBytes(32), { mode: 0o600 });
  return tmp;
}

/** The first secret of a state dir; two servers making one at once both end up with the same (link fails for the second). */
function createSecret(stateDir: string): Buffer {
  const tmp = writeTemp(stateDir);
  try {
    linkSync(tmp, join(stateDir, LOCK_SECRET_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return readSecret(stateDir)!;
}

/** A new secret in place of `seen`, unless another server replaced it already. */
function replaceSecret(stateDir: string, seen: Buffer): void {
  if (!readSecret(stateDir)?.equals(seen)) return;
  renameSync(writeTemp(stateDir), join(stateDir, LOCK_SECRET_FILE));
}

function proof(secret: Buffer, nonce: string): Buffer {
  return createHmac('sha256', secret).update(nonce).digest();
}

/** A server holding the lock, or undefined when another holds it already. */
function bind(address: string, secret: Buffer): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.setTimeout(ASK_MS, () => socket.destroy());
      let nonce = '';
      socket.on('data', (d) => {
        nonce += d.toString('latin1');
        if (nonce.length > 200) return socket.destroy();
        const end = nonce.indexOf('\n');
        if (end !== -1) socket.end(`${process.pid} ${proof(secret, nonce.slice(0, end)).toString('hex')}`);
      });
    });
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(address, () => {
      server.unref(); // the lock never keeps the process alive
      resolve(server);
    });
  });
}

/**
 * The holder's pid, once it proved it knows `secret`; `gone` when nobody listens (it just let go, or died
 * leaving a socket file); `busy` when it accepted but did not answer within ASK_MS (alive, its event loop
 * blocked); `impostor` when it answered without the proof.
 */
export function askHolder(address: string, secret: Buffer): Promise<Holder> {
  return new Promise((resolve) => {
    const nonce = randomBytes(16).toString('hex');
    let answer = '';
    let refused = false;
    const socket = connect(address);
    socket.setTimeout(ASK_MS, () => socket.destroy());
    socket.on('connect', () => socket.write(`${nonce}\n`));
    socket.on('data', (d) => (answer += d));
    socket.on('error', (err: NodeJS.ErrnoException) => (refused = err.code === 'ECONNREFUSED' || err.code === 'ENOENT'));
    socket.on('close', () => {
      if (answer === '') return resolve(refused ? 'gone' : 'busy');
      const m = /^(\d+) ([0-9a-f]{64})$/.exec(answer);
      const proven = m !== null && timingSafeEqual(Buffer.from(m[2], 'hex'), proof(secret, nonce));
      resolve(proven ? Number(m[1]) : 'impostor');
    });
  });
}

/**
 * Whether the socket listening on an abstract `address` belongs to one of this user's processes: its inode
 * (from /proc/net/unix, where every user sees every name) among the open files of a process of ours (whose
 * fd lists only we, or root, may read). Linux only; elsewhere a silent holder is believed.
 */
function silentHolderIsOurs(address: string): boolean {
  if (process.platform !== 'linux') return true;
  let inode: string | undefined;
  try {
    const name = `@${address.slice(1)}`;
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      // Node pads an abstract name with NULs to the full address length; /proc shows them as `@`.
      if (f[7]?.replace(/@+$/, '') === name && f[3] === '00010000') inode = f[6]; // flags: listening
    }
  } catch {
    return true;
  }
  if (!inode) return true; // gone meanwhile: the next try binds it
  const target = `socket:[${inode}]`;
  const uid = process.getuid!();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (statSync(`/proc/${pid}`).uid !== uid) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return true;
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return false;
}
