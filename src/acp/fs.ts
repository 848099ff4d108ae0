// `fs/read_text_file` and `fs/write_text_file`, confined to the workdir. Writes are atomic: a temp file
// beside the target, then a rename, so a reader never sees half a file.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node';
import type { FsEvent } from './events';
import type { Workdir } from './paths';
import { ErrorCode, type ReadTextFileRequest, type ReadTextFileResponse, type WriteTextFileRequest } from './protocol';

export class FileAccess {
  constructor(
    private readonly workdir: Workdir,
    private readonly maxReadBytes: number,
    private readonly emit: (e: FsEvent) => void,
  ) {}

  async read(params: ReadTextFileRequest): Promise<ReadTextFileResponse> {
    const path = this.confine('read', params?.path);
    let text: string;
    try {
      const st = await fsp.stat(path);
      if (!st.isFile()) throw new ResponseError(ErrorCode.invalidParams, `not a file: ${path}`);
      if (st.size > this.maxReadBytes) {
        throw new ResponseError(ErrorCode.invalidParams, `file is larger than ${this.maxReadBytes} bytes (maxReadBytes): ${path}`);
      }
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      this.emit({ type: 'fs', op: 'read', path, allowed: true, reason: errorText(err) });
      throw asResponseError(err, path);
    }
    const content = sliceLines(text, params.line, params.limit);
    this.emit({ type: 'fs', op: 'read', path, allowed: true, bytes: Buffer.byteLength(content) });
    return { content };
  }

  async write(params: WriteTextFileRequest): Promise<Record<string, never>> {
    const path = this.confine('write', params?.path);
    if (typeof params.content !== 'string') throw new ResponseError(ErrorCode.invalidParams, 'content must be a string');
    try {
      await writeAtomic(path, params.content);
    } catch (err) {
      this.emit({ type: 'fs', op: 'write', path, allowed: true, reason: errorText(err) });
      throw asResponseError(err, path);
    }
    this.emit({ type: 'fs', op: 'write', path, allowed: true, bytes: Buffer.byteLength(params.content) });
    return {};
  }

  /** The real path to use, or an error (recorded) when the request leaves the workdir. */
  private confine(op: 'read' | 'write', requested: unknown): string {
    if (typeof requested !== 'string' || requested === '') throw new ResponseError(ErrorCode.invalidParams, 'path must be a non-empty string');
    const { path, inside } = this.workdir.locate(requested);
    if (!inside) {
      const reason = `outside the workdir ${this.workdir.root}`;
      this.emit({ type: 'fs', op, path, allowed: false, reason });
      throw new ResponseError(ErrorCode.invalidParams, `access denied: ${requested} is ${reason}`);
    }
    return path;
  }
}

/** Lines `line` (1-based) to `line + limit - 1`, as ACP reads them. */
function sliceLines(text: string, line: number | null | undefined, limit: number | null | undefined): string {
  if (line == null && limit == null) return text;
  const lines = text.split('\n');
  const start = Math.max(1, line ?? 1) - 1;
  const end = limit == null ? lines.length : start + Math.max(0, limit);
  return lines.slice(start, end).join('\n');
}

async function writeAtomic(path: string, content: string): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  let mode: number | undefined;
  try {
    mode = (await fsp.stat(path)).mode & 0o7777;
  } catch {
    // a new file gets the default mode
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, content);
    if (mode !== undefined) await fsp.chmod(tmp, mode);
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function asResponseError(err: unknown, path: string): ResponseError<unknown> {
  if (err instanceof ResponseError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ResponseError(ErrorCode.resourceNotFound, `file not found: ${path}`, { uri: path });
  return new ResponseError(ErrorCode.internalError, `${errorText(err)}`);
}
