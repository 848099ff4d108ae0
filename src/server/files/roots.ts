// Where the files API may reach (`--files-root DIR`, repeatable) and how it stays there (CONTRACT §8):
// every operation opens what it acts on first and checks the real path of what it opened, so a symlink
// swapped in between a check and a use cannot lead outside. On Linux a directory, once opened, is then
// used through its descriptor (`/proc/self/fd/N/name`), which the kernel resolves to the directory that
// was opened whatever happens to its path meanwhile: the equivalent of openat(2), which Node lacks.
// Elsewhere the real path is checked after opening and the descriptor's inode compared with it.
import { constants, existsSync, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { BadRequest, HttpError } from '../errors';
import { isWindows } from '../../common/platform';

const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');
/** Whether an opened folder can be handed to another program (or a watcher) by its descriptor (Linux). */
export const BY_DESCRIPTOR = PROC_FD;
// O_DIRECTORY makes opening a directory that was swapped for a file fail instead of opening the file.
const DIR_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0);

/** A directory opened for use: names inside it resolve against what was opened, not against its path. */
export interface OpenDir {
  /** Its real path, checked to lie inside the roots. */
  readonly real: string;
  /** Its descriptor, while open (not on Windows). */
  readonly fd?: number;
  /** A path for `name` inside this directory (a single component). */
  at(name: string): string;
  close(): Promise<void>;
}

export class Forbidden extends HttpError {
  constructor(message: string) {
    super(403, message);
  }
}

export class FileRoots {
  private constructor(
    /** Real paths of the roots; empty: the whole machine, with the rights of the server's user. */
    readonly reals: string[],
  ) {}

  /** The roots, resolved once at start: each must be an existing folder. */
  static async open(dirs: readonly string[]): Promise<FileRoots> {
    const reals: string[] = [];
    for (const d of dirs) {
      const real = await fsp.realpath(resolve(d)).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`--files-root ${d}: ${err.code === 'ENOENT' ? 'no such folder' : err.message}`);
      });
      if (!(await fsp.stat(real)).isDirectory()) throw new Error(`--files-root ${d}: not a folder`);
      reals.push(real);
    }
    return new FileRoots(reals);
  }

  get confined(): boolean {
    return this.reals.length > 0;
  }

  /** A client's path, absolute or relative to the server's cwd, as an absolute path (not yet checked). */
  resolve(value: unknown, what = 'path'): string {
    if (typeof value !== 'string' || value === '') throw new BadRequest(`${what} must be a non-empty string`);
    if (value.includes('\0')) throw new BadRequest(`${what} must not contain a NUL byte`);
    return isAbsolute(value) ? resolve(value) : resolve(process.cwd(), value);
  }

  /** Throws 403 unless `real` (a real path) lies inside a root. */
  check(real: string, shown = real): void {
    if (!this.confined) return;
    const norm = (p: string) => (isWindows ? p.toLowerCase() : p);
    const r = norm(real);
    for (const root of this.reals) {
      const n = norm(root);
      if (r === n || r.startsWith(n.endsWith(sep) ? n : n + sep)) return;
    }
    throw new Forbidden(`${shown} is outside the files roots`);
  }

  /** Opens a file (following links, as any program would) and checks where it really is. */
  async openFile(path: string, flags: string | number = 'r'): Promise<FileHandle> {
    const handle = await fsp.open(path, flags);
    try {
      this.check(await realOf(handle, path), path);
      return handle;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Opens a directory and checks where it really is. */
  async openDir(path: string): Promise<OpenDir> {
    if (isWindows) {
      // Windows cannot open a directory as a file: check its real path, then use that.
      const real = await fsp.realpath(path);
      if (!(await fsp.stat(real)).isDirectory()) throw Object.assign(new Error(`not a folder: ${path}`), { code: 'ENOTDIR' });
      this.check(real, path);
      return { real, at: (name) => join(real, name), close: async () => undefined };
    }
    const handle = await fsp.open(path, DIR_FLAGS);
    try {
      const real = await realOf(handle, path);
      this.check(real, path);
      if (!(await handle.stat()).isDirectory()) throw Object.assign(new Error(`not a folder: ${path}`), { code: 'ENOTDIR' });
      const base = PROC_FD ? `/proc/self/fd/${handle.fd}` : real;
      // (`/proc/self/fd/N/.`, not `/proc/self/fd/N`: lstat of the latter describes the link, not the folder.)
      let closing: Promise<void> | undefined;
      return { real, fd: handle.fd, at: (name) => `${base}/${name}`, close: () => (closing ??= handle.close()) };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The folder holding `path`, opened, and the last component of `path` (`.` for a filesystem root). */
  async openParent(path: string): Promise<{ dir: OpenDir; name: string }> {
    const parent = dirname(path);
    // A filesystem root has no parent; a files root's parent lies outside the roots.
    if (parent === path || this.reals.includes(path)) return { dir: await this.openDir(path), name: '.' };
    return { dir: await this.openDir(parent), name: basename(path) };
  }

  /** Like openDir, creating missing folders first, each one checked as it is made (mkdir -p). */
  async makeDirs(path: string): Promise<OpenDir> {
    try {
      return await this.openDir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw err;
    }
    const parent = await this.makeDirs(dirname(path));
    try {
      await fsp.mkdir(parent.at(basename(path))).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    } finally {
      await parent.close();
    }
    return this.openDir(path);
  }
}

/** The real path of what `handle` opened. */
async function realOf(handle: FileHandle, path: string): Promise<string> {
  if (PROC_FD) return fsp.readlink(`/proc/self/fd/${handle.fd}`);
  const real = await fsp.realpath(path);
  const [a, b] = await Promise.all([handle.stat(), fsp.stat(real)]);
  // The path may have changed since it was opened: the real path counts only if it is still the same object.
  if (a.ino !== b.ino || a.dev !== b.dev) throw new HttpError(409, `${path} changed while it was opened; try again`);
  return real;
}

/** An error of the file system as the client's HTTP error (a clear 4xx, or 507 for a full disk). */
export function fsError(err: unknown, path?: string): unknown {
  if (err instanceof HttpError) return err;
  const e = err as NodeJS.ErrnoException;
  // A descriptor's path (/proc/self/fd/N/…) means nothing to a client.
  const where = path ?? (e?.path && !e.path.startsWith('/proc/self/fd/') ? e.path : 'the path given');
  switch (e?.code) {
    case 'ENOENT':
      return new HttpError(404, `no such file or folder: ${where}`);
    case 'ENOTDIR':
      return new BadRequest(`not a folder: ${where}`);
    case 'EISDIR':
      return new BadRequest(`is a folder: ${where}`);
    case 'EACCES':
    case 'EPERM':
      return new Forbidden(`permission denied: ${where}`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new HttpError(507, `no space left on the device for ${where}`);
    case 'ENAMETOOLONG':
    case 'EINVAL':
    case 'EILSEQ':
      return new BadRequest(`not a valid name here: ${where}`);
    case 'EEXIST':
      return new HttpError(409, `already exists: ${where}`);
    case 'ENOTEMPTY':
      return new HttpError(409, `folder not empty: ${where} (recursive=true removes it with its contents)`);
    case 'ELOOP':
      return new BadRequest(`too many levels of symbolic links: ${where}`);
    case 'EROFS':
      return new Forbidden(`read-only file system: ${where}`);
    case 'EBUSY':
      return new HttpError(409, `busy: ${where}`);
    default:
      return err;
  }
}
