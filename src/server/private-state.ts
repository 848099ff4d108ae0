// The state dir holds the API key and every job's output: it is this user's alone (docs/API.md).
// A folder or key file made by an older version, by hand or under a loose umask keeps its mode when it is
// reused, so it is tightened at every start (0700, 0600); one that belongs to another user cannot be, and
// the server refuses to start rather than keep a key there. On Windows the folder's ACL (the user's
// profile) does this, as it always has.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_FILE_NAME } from './auth';
import { isWindows } from '../common/platform';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** A state dir that cannot be made private. */
export class StateDirNotPrivate extends Error {}

/**
 * Creates the state dir if needed and makes it and its key file private. Returns what it changed, as
 * sentences for the log; throws StateDirNotPrivate when that is impossible.
 */
export function securePrivateState(stateDir: string): string[] {
  mkdirSync(stateDir, { recursive: true, mode: DIR_MODE });
  if (isWindows) return [];
  const notes: string[] = [];
  if (!statSync(stateDir).isDirectory()) throw new StateDirNotPrivate(`the state dir ${stateDir} is not a directory`);
  for (const [path, mode, what] of [
    [stateDir, DIR_MODE, 'state dir'],
    [join(stateDir, KEY_FILE_NAME), FILE_MODE, 'key file'],
  ] as const) {
    const note = tighten(path, mode, what);
    if (note) notes.push(note);
  }
  return notes;
}

/** Makes `path` this user's alone; what it changed, if anything. A missing file is made private when written. */
function tighten(path: string, mode: number, what: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const uid = process.getuid!();
  if (st.uid !== uid) {
    throw new StateDirNotPrivate(
      `the ${what} ${path} belongs to uid ${st.uid}, not to this user (uid ${uid}), so it cannot be made private; ` +
        'choose another --state-dir or fix its owner',
    );
  }
  const loose = st.mode & 0o777;
  if ((loose & ~mode) === 0) return undefined;
  chmodSync(path, mode);
  return `the ${what} ${path} was readable by others (mode ${loose.toString(8).padStart(4, '0')}); tightened to ${mode.toString(8).padStart(4, '0')}`;
}
