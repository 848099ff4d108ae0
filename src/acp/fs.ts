// `fs/read_text_file` and `fs/write_text_file`, confined to the workdir, against symlinks swapped in
// between the check and the use too (see confined-open.ts). Writes are atomic: a temp file beside the
// target, then a rename, so a reader never sees half a file.
import { ResponseError } from 'vscode-jsonrpc/node';
import { PathChanged, openInsideForRead, writeInside } from './confined-open';
import type { FsEvent } from './events';
import type { Workdir } from './paths';
import { ErrorCode, type ReadTextFileRequest, type ReadTextFileResponse, type WriteTextFileRequest } from './protocol';

/**
 * How a read of a file that does not exist (inside the workdir) is answered: `error` is ACP's -32002
 * "Resource not found"; `empty` is empty content, as Zed answers (it opens a missing file as a new, empty
 * buffer), which agents that read a file before writing it need when their ACP library cannot see error
 * codes (Gemini CLI).
 */
export type MissingFileAnswer = 'error' | 'empty';

export class FileAccess {
  constructor(
    private readonly workdir: Workdir,
    private readonly maxReadBytes: number,
    private readonly emit: (e: FsEvent) => void,
    /** Asked at each read of a missing file, since it depends on the agent (known after `initialize`). */
    private readonly missingFile: () => MissingFileAnswer = () => 'error',
  ) {}

  async read(params: ReadTextFileRequest): Promise<ReadTextFileResponse> {
    const path = this.confine('read', params?.path);
    let text: string;
    try {
      const file = await openInsideForRead(this.workdir.root, path);
      try {
        const st = await file.stat();
        if (!st.isFile()) throw new ResponseError(ErrorCode.invalidParams, `not a file: ${path}`);
        if (st.size > this.maxReadBytes) {
          throw new ResponseError(ErrorCode.invalidParams, `file is larger than ${this.maxReadBytes} bytes (maxReadBytes): ${path}`);
        }
        text = await file.readFile('utf8');
      } finally {
        await file.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.missingFile() === 'empty') {
        this.emit({ type: 'fs', op: 'read', path, allowed: true, bytes: 0, missing: true, reason: 'no such file: answered with empty content' });
        return { content: '' };
      }
      this.emit({ type: 'fs', op: 'read', path, allowed: !(err instanceof PathChanged), reason: errorText(err), ...(isMissing(err) ? { missing: true } : {}) });
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
      await writeInside(this.workdir.root, path, params.content);
    } catch (err) {
      this.emit({ type: 'fs', op: 'write', path, allowed: !(err instanceof PathChanged), reason: errorText(err) });
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function asResponseError(err: unknown, path: string): ResponseError<unknown> {
  if (err instanceof ResponseError) return err;
  if (err instanceof PathChanged) return new ResponseError(ErrorCode.invalidParams, `access denied: ${err.message}`);
  // ACP's -32002 with the message its reference libraries use, so agents that match on it see "not found"
  if (isMissing(err)) return new ResponseError(ErrorCode.resourceNotFound, `file not found (Resource not found): ${path}`, { uri: path });
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EISDIR') return new ResponseError(ErrorCode.invalidParams, `not a file: ${path}`);
  return new ResponseError(ErrorCode.internalError, `${errorText(err)}`);
}
