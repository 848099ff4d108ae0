// What is in a folder and changing it: stat, a paged listing, mkdir, move, delete. Each acts through the
// opened parent folder (roots.ts), never through a path a swapped symlink could redirect.
import { promises as fsp, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { BadRequest, HttpError } from '../errors';
import { etagOf } from './content';
import { fsError, type FileRoots, type OpenDir } from './roots';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export function typeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryType {
  return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other';
}

async function withParent<T>(roots: FileRoots, path: string, use: (dir: OpenDir, name: string) => Promise<T>): Promise<T> {
  const { dir, name } = await roots.openParent(path).catch((err) => {
    throw fsError(err, path);
  });
  try {
    return await use(dir, name);
  } catch (err) {
    throw fsError(err, path);
  } finally {
    await dir.close();
  }
}

/** `GET /files/stat`: the entry itself (a symlink is reported as one, not followed). */
export function stat(roots: FileRoots, path: string) {
  return withParent(roots, path, async (dir, name) => {
    const st = await fsp.lstat(dir.at(name), { bigint: true });
    return describe(path, st);
  });
}

function describe(path: string, st: BigIntStats) {
  return { path, type: typeOf(st), size: Number(st.size), mode: Number(st.mode) & 0o7777, mtime: Number(st.mtimeMs) / 1000, etag: etagOf(st) };
}

export interface ListLimits {
  /** Entries per page when the client names no limit. */
  defaultLimit: number;
  /** Most entries per page. */
  maxLimit: number;
}

/**
 * `GET /files/list`: entries sorted by name, `limit` at a time; the cursor is the last name sent, so a
 * page after a change neither repeats nor skips a name that stayed.
 */
export async function list(roots: FileRoots, path: string, limitParam: unknown, cursorParam: unknown, limits: ListLimits) {
  const limit = intParam(limitParam, 'limit', 1, limits.maxLimit) ?? limits.defaultLimit;
  let after: string | undefined;
  if (cursorParam !== undefined && cursorParam !== '') {
    if (typeof cursorParam !== 'string') throw new BadRequest('cursor must be a string');
    after = Buffer.from(cursorParam, 'base64url').toString('utf8');
  }
  const dir = await roots.openDir(path).catch((err) => {
    throw fsError(err, path);
  });
  try {
    const names = (await fsp.readdir(dir.at('.'))).sort(byCodePoint);
    const start = after === undefined ? 0 : upperBound(names, after);
    const page = names.slice(start, start + limit);
    const entries = [];
    for (const name of page) {
      const st = await fsp.lstat(dir.at(name)).catch(() => undefined); // gone meanwhile: left out
      if (st) entries.push({ name, path: join(path, name), type: typeOf(st), size: st.size, mtime: st.mtimeMs / 1000 });
    }
    const more = start + limit < names.length;
    return { entries, cursor: more ? Buffer.from(page[page.length - 1], 'utf8').toString('base64url') : null };
  } catch (err) {
    throw fsError(err, path);
  } finally {
    await dir.close();
  }
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The index of the first name after `after` in sorted `names`. */
function upperBound(names: string[], after: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (names[mid] <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function intParam(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new BadRequest(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

export function boolParam(value: unknown, name: string): boolean {
  if (value === undefined || value === '' || value === false || value === 'false' || value === '0') return false;
  if (value === true || value === 'true' || value === '1') return true;
  throw new BadRequest(`${name} must be true or false`);
}

/** `POST /files/mkdir`: 201 when made, 200 when it was already there with `parents`. */
export async function mkdir(roots: FileRoots, path: string, parents: boolean): Promise<{ path: string; created: boolean }> {
  if (parents) {
    const existed = await roots
      .openDir(path)
      .then((d) => d.close().then(() => true))
      .catch(() => false);
    const dir = await roots.makeDirs(path).catch((err) => {
      throw fsError(err, path);
    });
    await dir.close();
    return { path, created: !existed };
  }
  return withParent(roots, path, async (dir, name) => {
    await fsp.mkdir(dir.at(name));
    return { path, created: true };
  });
}

/** `POST /files/move`: a rename; across file systems a copy, then the source removed. */
export async function move(roots: FileRoots, from: string, to: string, overwrite: boolean) {
  return withParent(roots, from, (src, srcName) =>
    withParent(roots, to, async (dst, dstName) => {
      await fsp.lstat(src.at(srcName));
      const existing = await fsp.lstat(dst.at(dstName)).catch(() => undefined);
      if (existing && !overwrite) throw new HttpError(409, `already exists: ${to} (overwrite=true replaces it)`);
      try {
        await fsp.rename(src.at(srcName), dst.at(dstName));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await fsp.cp(src.at(srcName), dst.at(dstName), { recursive: true, force: overwrite, errorOnExist: !overwrite, verbatimSymlinks: true });
        await fsp.rm(src.at(srcName), { recursive: true });
      }
      return { from, to };
    }),
  );
}

/** `DELETE /files`: a file or link, or a folder (with its contents only when `recursive`). */
export async function remove(roots: FileRoots, path: string, recursive: boolean) {
  if (roots.reals.includes(path)) throw new HttpError(403, `${path} is a files root and cannot be deleted`);
  return withParent(roots, path, async (dir, name) => {
    const st = await fsp.lstat(dir.at(name));
    if (st.isDirectory()) {
      if (recursive) await fsp.rm(dir.at(name), { recursive: true });
      else await fsp.rmdir(dir.at(name));
    } else {
      await fsp.unlink(dir.at(name));
    }
    return { path, deleted: true, type: typeOf(st) };
  });
}
