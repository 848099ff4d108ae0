// Opening files inside the workdir so that a folder swapped for a symlink between the check and the open
// cannot lead outside (CONTRACT §8). On Linux each folder is opened by itself, without following links,
// and the next name is looked up through the folder just opened (`/proc/self/fd/N/name`, the way openat
// works), so what was checked is what gets used. Elsewhere the file is opened by path and then checked:
// the file opened must be the one the path now really names, inside the workdir.
import { constants, existsSync, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, sep } from 'node:path';
import { isWithin, realPath } from './paths';

const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');
const { O_RDONLY, O_DIRECTORY = 0, O_NOFOLLOW = 0, O_WRONLY, O_CREAT, O_EXCL } = constants;

/** The path changed (a link appeared) while it was being opened; nothing outside was touched. */
export class PathChanged extends Error {
  readonly code = 'EPATHCHANGED';
  constructor(path: string) {
    super(`${path} changed while it was being opened (a folder became a link); refused`);
  }
}

/** Opens `root`-relative folders one by one; `make` creates missing ones. Returns the innermost folder. */
async function openDir(root: string, parts: string[], make: boolean): Promise<fsp.FileHandle> {
  let dir = await fsp.open(root, O_RDONLY | O_DIRECTORY);
  try {
    for (const part of parts) {
      const at = `/proc/self/fd/${dir.fd}/${part}`;
      let next: fsp.FileHandle;
      try {
        next = await fsp.open(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && make) {
          await fsp.mkdir(at).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e;
          });
          next = await fsp.open(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        } else if (code === 'ELOOP' || code === 'ENOTDIR') {
          throw new PathChanged(join(root, ...parts));
        } else throw err;
      }
      await dir.close();
      dir = next;
    }
    return dir;
  } catch (err) {
    await dir.close().catch(() => {});
    throw mapLoop(err, join(root, ...parts));
  }
}

function mapLoop(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ELOOP' ? new PathChanged(path) : err;
}

function partsOf(root: string, path: string): string[] {
  const rel = relative(root, path);
  return rel === '' ? [] : rel.split(sep);
}

/**
 * Opens `path` (real, absolute, checked inside `root`) for reading. Rejects with `PathChanged` when a
 * link appeared on the way, with the usual errors (ENOENT…) otherwise.
 */
export async function openInsideForRead(root: string, path: string): Promise<fsp.FileHandle> {
  const parts = partsOf(root, path);
  if (parts.length === 0) throw Object.assign(new Error(`not a file: ${path}`), { code: 'EISDIR' });
  if (PROC_FD) {
    const dir = await openDir(root, parts.slice(0, -1), false);
    try {
      return await fsp.open(`/proc/self/fd/${dir.fd}/${parts[parts.length - 1]}`, O_RDONLY | O_NOFOLLOW).catch((e) => {
        throw mapLoop(e, path);
      });
    } finally {
      await dir.close();
    }
  }
  const file = await fsp.open(path, O_RDONLY);
  try {
    await checkOpened(root, path, file);
    return file;
  } catch (err) {
    await file.close();
    throw err;
  }
}

/** The file opened must be the one `path` really names now, and that must be inside `root`. */
async function checkOpened(root: string, path: string, file: fsp.FileHandle): Promise<void> {
  const now = realPath(path, root);
  if (!isWithin(root, now)) throw new PathChanged(path);
  const [a, b] = await Promise.all([file.stat(), fsp.stat(now)]);
  if (a.dev !== b.dev || a.ino !== b.ino) throw new PathChanged(path);
}

/**
 * Writes `content` to `path` (real, absolute, checked inside `root`) atomically: a temp file beside it,
 * then a rename, both inside the folder opened without following links; missing folders are made the
 * same way. An existing file's mode is kept.
 */
export async function writeInside(root: string, path: string, content: string): Promise<void> {
  const parts = partsOf(root, path);
  if (parts.length === 0) throw Object.assign(new Error(`not a file: ${path}`), { code: 'EISDIR' });
  const name = parts[parts.length - 1];
  const tmpName = `.${name}.${randomBytes(6).toString('hex')}.tmp`;
  if (PROC_FD) {
    const dir = await openDir(root, parts.slice(0, -1), true);
    const at = (n: string) => `/proc/self/fd/${dir.fd}/${n}`;
    try {
      await writeThenRename(at(name), at(tmpName), content, path);
    } finally {
      await dir.close();
    }
    return;
  }
  await fsp.mkdir(dirname(path), { recursive: true });
  const folder = realPath(dirname(path), root);
  if (!isWithin(root, folder)) throw new PathChanged(path);
  await writeThenRename(join(folder, basename(path)), join(folder, tmpName), content, path);
}

async function writeThenRename(target: string, tmp: string, content: string, shown: string): Promise<void> {
  let mode: number | undefined;
  try {
    const st = await fsp.lstat(target);
    if (st.isSymbolicLink()) throw new PathChanged(shown);
    mode = st.mode & 0o7777;
  } catch (err) {
    if (err instanceof PathChanged) throw err;
    // a new file gets the default mode
  }
  try {
    const file = await fsp.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
    try {
      await file.writeFile(content);
      if (mode !== undefined) await file.chmod(mode);
    } finally {
      await file.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw mapLoop(err, shown);
  }
}
