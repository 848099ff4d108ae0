// A file's bytes, both ways, streamed: downloads with ranges and validators, uploads written to a
// temporary file beside the target and renamed over it, so a reader never sees half a file and an upload
// cut off leaves the old file whole.
import { randomBytes } from 'node:crypto';
import { promises as fsp, type BigIntStats, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { basename, dirname } from 'node:path';
import { isUtf8 } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';
import { BadRequest, HttpError } from '../errors';
import { fsError, type FileRoots } from './roots';

/** Bytes read from disk per chunk of a download. */
const READ_CHUNK = 1 << 20;

/** A strong validator that changes whenever the file is replaced (inode) or written (size, mtime in ns). */
export function etagOf(st: BigIntStats | Stats): string {
  return `"${st.ino.toString(36)}-${st.size.toString(36)}-${('mtimeNs' in st ? st.mtimeNs : BigInt(Math.round(st.mtimeMs * 1e6))).toString(36)}"`;
}

/** Opens a regular file for reading (400 for a folder or a device), with its stat; the caller closes it. */
async function openRegularFile(roots: FileRoots, path: string): Promise<{ handle: FileHandle; st: BigIntStats }> {
  const handle = await roots.openFile(path).catch((err) => {
    throw fsError(err, path);
  });
  try {
    const st = await handle.stat({ bigint: true });
    if (st.isDirectory()) throw new BadRequest(`is a folder: ${path} (list it instead)`);
    if (!st.isFile()) throw new BadRequest(`not a regular file: ${path}`);
    return { handle, st };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** `GET /files/content`: the bytes, whole or a range. */
export async function sendContent(roots: FileRoots, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { handle, st } = await openRegularFile(roots, path);
  try {
    const size = Number(st.size);
    const etag = etagOf(st);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      ETag: etag,
      'Last-Modified': new Date(Number(st.mtimeMs)).toUTCString(),
      'Accept-Ranges': 'bytes',
    };
    if (matchesAny(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Type': 'application/json; charset=utf-8' });
      return void res.end(JSON.stringify({ error: `range not satisfiable: the file has ${size} bytes` }));
    }
    const [start, end] = range ?? [0, size - 1];
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    headers['Content-Length'] = Math.max(0, end - start + 1);
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) return void res.end();
    await sendRange(handle, start, end, res);
  } finally {
    await handle.close();
  }
}

/**
 * Sends bytes `start..end` of the file through two buffers used in turn: one is read into while the other
 * is written, and a buffer is read into again only once the socket has taken its bytes. A read stream
 * would allocate a new buffer per chunk, which the garbage collector frees only after tens of MiB have piled
 * up; this way a download of any size holds 2 MiB.
 */
async function sendRange(handle: FileHandle, start: number, end: number, res: ServerResponse): Promise<void> {
  const buffers = [Buffer.allocUnsafe(READ_CHUNK), Buffer.allocUnsafe(READ_CHUNK)];
  let gone = false;
  const closed = new Promise<void>((resolve) => res.once('close', () => ((gone = true), resolve())));
  let writing: Promise<void> = Promise.resolve();
  let pos = start;
  for (let turn = 0; pos <= end && !gone; turn ^= 1) {
    const buf = buffers[turn];
    const { bytesRead } = await handle.read(buf, 0, Math.min(READ_CHUNK, end - pos + 1), pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    await Promise.race([writing, closed]);
    if (gone) return;
    writing = new Promise<void>((resolve) => res.write(buf.subarray(0, bytesRead), () => resolve()));
  }
  await Promise.race([writing, closed]);
  // A file that shrank meanwhile: fewer bytes than promised, so the connection ends and cannot pass for a whole answer.
  if (pos <= end) res.destroy();
  else res.end();
}

/** One `bytes=A-B` range (also `A-` and `-N`); anything else is ignored and the whole file sent, as RFC 9110 allows. */
export interface TextRange {
  path: string;
  /** The file's size, bytes. */
  size: number;
  /** Byte offset of `text`, and where the next read starts (`size` at the end). */
  offset: number;
  next: number;
  text: string;
  /** Bytes at `offset` that are not UTF-8 text (a NUL byte, or invalid UTF-8), when the file seems binary. */
  binary: boolean;
  etag: string;
}

/**
 * Up to `length` bytes of a file from byte `offset`, as text: a character cut by the end of the range
 * is left for the next read (`next`), so reading on from `next` never splits one.
 */
export async function readText(roots: FileRoots, path: string, offset: number, length: number): Promise<TextRange> {
  const { handle, st } = await openRegularFile(roots, path);
  try {
    const size = Number(st.size);
    const start = Math.min(offset, size);
    const buf = Buffer.alloc(Math.min(length, size - start));
    const { bytesRead } = await handle.read(buf, 0, buf.length, start);
    let bytes = buf.subarray(0, bytesRead);
    if (start + bytesRead < size) bytes = bytes.subarray(0, bytes.length - cutCharacter(bytes));
    const binary = bytes.includes(0) || !isUtf8(bytes);
    return { path, size, offset: start, next: start + bytes.length, text: bytes.toString('utf8'), binary, etag: etagOf(st) };
  } finally {
    await handle.close();
  }
}

/** Bytes at the end of `buf` that begin a UTF-8 character the buffer does not hold whole (0 to 3). */
function cutCharacter(buf: Buffer): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  return start >= size ? 'unsatisfiable' : [start, end];
}

function matchesAny(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === etag;
  });
}

export interface Written {
  path: string;
  size: number;
  mtime: number;
  etag: string;
  created: boolean;
}

/**
 * `PUT /files/content`: streams `body` into a temporary file beside `path`, then renames it over `path`.
 * `ifMatch` (an ETag) makes the write fail with 412 when the file is not that version, checked before the
 * body is read and again just before the rename.
 */
export async function writeContent(
  roots: FileRoots,
  path: string,
  body: Readable,
  opts: { mkdirs: boolean; ifMatch?: string; declaredLength?: number; maxUploadBytes: number },
): Promise<Written> {
  if (opts.declaredLength !== undefined && opts.declaredLength > opts.maxUploadBytes) {
    throw new HttpError(413, `upload is larger than ${opts.maxUploadBytes} bytes (filesMaxUploadBytes)`);
  }
  const name = basename(path);
  const dir = await (opts.mkdirs ? roots.makeDirs(dirname(path)) : roots.openDir(dirname(path))).catch((err) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new HttpError(404, `no such folder: ${dirname(path)} (mkdirs=true creates it)`);
    }
    throw fsError(err, dirname(path));
  });
  let tmp: string | undefined;
  try {
    const before = await current(dir.at(name), path, opts.ifMatch);
    // Beside the target, so the rename stays on one file system; hidden, and short enough for any name.
    tmp = dir.at(`.${name.slice(0, 200)}.${randomBytes(6).toString('hex')}.upload`);
    const out = await fsp.open(tmp, 'wx', before ? Number(before.mode) & 0o7777 : 0o666).catch((err) => {
      throw fsError(err, path);
    });
    await receive(body, out, opts.maxUploadBytes, path);
    if (before) await fsp.chmod(tmp, Number(before.mode) & 0o7777).catch(() => undefined); // the umask took bits away
    await current(dir.at(name), path, opts.ifMatch);
    // Stat before the rename (which keeps inode and mtime): after it, P is anyone's to change or delete.
    const st = await fsp.stat(tmp, { bigint: true });
    await fsp.rename(tmp, dir.at(name)).catch((err) => {
      throw fsError(err, path);
    });
    tmp = undefined;
    return { path, size: Number(st.size), mtime: Number(st.mtimeMs) / 1000, etag: etagOf(st), created: !before };
  } finally {
    if (tmp) await fsp.unlink(tmp).catch(() => undefined);
    await dir.close();
  }
}

/**
 * Streams the request body into `out` (closed when done, whatever happens). Over `maxBytes`, the body is
 * no longer read and the write fails with 413: the request is left unread, not destroyed, so the client
 * still gets its answer (sent with `Connection: close`).
 */
function receive(body: Readable, out: FileHandle, maxBytes: number, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const file = out.createWriteStream({ highWaterMark: 4 * READ_CHUNK });
    let failed = false;
    let received = 0;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      body.unpipe(file);
      body.pause();
      file.destroy();
      // The handle is closed by the stream (autoClose); wait for that before the caller removes the file.
      if (file.closed) reject(err);
      else file.once('close', () => reject(err));
    };
    // A request tells whether its whole body came; any other stream, whether it ended.
    const complete = () => (body as Partial<IncomingMessage>).complete ?? body.readableEnded;
    const cutOff = () => {
      if (!complete()) fail(new HttpError(400, 'the upload was cut off; the file is unchanged'));
    };
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) fail(new HttpError(413, `upload is larger than ${maxBytes} bytes (filesMaxUploadBytes)`));
    });
    body.once('error', cutOff);
    body.once('close', cutOff);
    file.once('error', (err) => fail(fsError(err, path)));
    file.once('close', () => {
      if (failed) return;
      if (!complete()) return fail(new HttpError(400, 'the upload was cut off; the file is unchanged'));
      resolve();
    });
    body.pipe(file);
  });
}

/** The file now at `at` (undefined when there is none), after checking it is a file and matches `ifMatch`. */
async function current(at: string, path: string, ifMatch: string | undefined): Promise<BigIntStats | undefined> {
  const st = await fsp.lstat(at, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw fsError(err, path);
  });
  if (st?.isDirectory()) throw new BadRequest(`is a folder: ${path}`);
  if (ifMatch !== undefined && !(st && matchesAny(ifMatch, etagOf(st)))) {
    throw new HttpError(412, `${path} is not the version If-Match names (it changed, or does not exist)`, { etag: st ? etagOf(st) : null });
  }
  return st;
}
