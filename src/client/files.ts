// `client.files`: the files API (docs/files.md). Content goes up and down as streams, so a large file
// never sits whole in the client's memory unless asked for (`read`, `readText`).
import { call, callJson, type Body, type Transport } from './http.js';
import { readSse } from './sse.js';
import type { DeleteResult, FileList, FileStat, FileWritten, FindResult, MkdirResult, MoveResult, SearchResult, WatchEvent } from './types.js';

export interface Signal {
  signal?: AbortSignal;
}

export interface DownloadOptions extends Signal {
  /** Bytes `start` to `end` inclusive (`end` omitted: to the end of the file); answered 206. */
  range?: { start: number; end?: number };
  /** The version the caller holds: `notModified` when the file is still that version. */
  ifNoneMatch?: string;
}

export interface Download {
  /** The bytes; null when not modified. Read it or cancel it: it holds the connection. */
  body: ReadableStream<Uint8Array> | null;
  status: 200 | 206 | 304;
  notModified: boolean;
  /** Bytes in `body`. */
  length: number;
  etag: string | null;
  lastModified: string | null;
  /** `bytes A-B/SIZE` for a range. */
  contentRange: string | null;
}

export interface UploadOptions extends Signal {
  /** Make missing folders above the file. */
  mkdirs?: boolean;
  /** Write only if the file is still this version (its etag), else 412. */
  ifMatch?: string;
}

export interface ListOptions extends Signal {
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

export interface SearchOptions extends Signal {
  /** Only files matching this glob (as ripgrep's `--glob`). */
  glob?: string;
  limit?: number;
  /** `false`: search `.git` and what `.gitignore` excludes too. */
  ignore?: boolean;
}

export class FilesApi {
  constructor(private readonly t: Transport) {}

  /** The file's bytes as a stream, with its version. */
  async download(path: string, options: DownloadOptions = {}): Promise<Download> {
    const headers: Record<string, string> = {};
    if (options.range) headers.Range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    if (options.ifNoneMatch) headers['If-None-Match'] = options.ifNoneMatch;
    const res = await call(this.t, 'GET', '/files/content', { query: { path }, headers, signal: options.signal, accept: [304] });
    return {
      body: res.status === 304 ? null : res.body,
      status: res.status as Download['status'],
      notModified: res.status === 304,
      length: Number(res.headers.get('Content-Length') ?? 0),
      etag: res.headers.get('ETag'),
      lastModified: res.headers.get('Last-Modified'),
      contentRange: res.headers.get('Content-Range'),
    };
  }

  /** The whole file in memory. */
  async read(path: string, options: Omit<DownloadOptions, 'ifNoneMatch'> = {}): Promise<Uint8Array> {
    const { body } = await this.download(path, options);
    return new Uint8Array(await new Response(body).arrayBuffer());
  }

  async readText(path: string, options: Omit<DownloadOptions, 'ifNoneMatch'> = {}): Promise<string> {
    return new TextDecoder().decode(await this.read(path, options));
  }

  /**
   * Writes the file whole (atomically: a reader never sees half of it). A `ReadableStream` body is streamed
   * (in Node; browsers stream request bodies only over HTTP/2, so give them a Blob or bytes).
   */
  async write(path: string, content: Body, options: UploadOptions = {}): Promise<FileWritten & { created: boolean }> {
    const headers: Record<string, string> = options.ifMatch ? { 'If-Match': options.ifMatch } : {};
    const res = await call(this.t, 'PUT', '/files/content', {
      query: { path, mkdirs: options.mkdirs || undefined },
      body: content,
      headers,
      signal: options.signal,
    });
    return { ...((await res.json()) as FileWritten), created: res.status === 201 };
  }

  stat(path: string, options: Signal = {}): Promise<FileStat> {
    return callJson(this.t, 'GET', '/files/stat', { query: { path }, signal: options.signal });
  }

  /** One page of a folder, sorted by name; pass its `cursor` back for the next (null at the end). */
  list(path: string, options: ListOptions = {}): Promise<FileList> {
    return callJson(this.t, 'GET', '/files/list', { query: { path, limit: options.limit, cursor: options.cursor }, signal: options.signal });
  }

  mkdir(path: string, options: Signal & { parents?: boolean } = {}): Promise<MkdirResult> {
    return callJson(this.t, 'POST', '/files/mkdir', { json: { path, parents: options.parents ?? false }, signal: options.signal });
  }

  move(from: string, to: string, options: Signal & { overwrite?: boolean } = {}): Promise<MoveResult> {
    return callJson(this.t, 'POST', '/files/move', { json: { from, to, overwrite: options.overwrite ?? false }, signal: options.signal });
  }

  delete(path: string, options: Signal & { recursive?: boolean } = {}): Promise<DeleteResult> {
    return callJson(this.t, 'DELETE', '/files', { query: { path, recursive: options.recursive || undefined }, signal: options.signal });
  }

  /** Lines matching a regular expression, in the files under `path`. */
  search(path: string, pattern: string, options: SearchOptions = {}): Promise<SearchResult> {
    const query = { path, pattern, glob: options.glob, limit: options.limit, ignore: options.ignore };
    return callJson(this.t, 'GET', '/files/search', { query, signal: options.signal });
  }

  /** Files under `path` whose name matches a glob. */
  find(path: string, name: string, options: Omit<SearchOptions, 'glob'> = {}): Promise<FindResult> {
    return callJson(this.t, 'GET', '/files/find', { query: { path, name, limit: options.limit, ignore: options.ignore }, signal: options.signal });
  }

  /**
   * Changes under a folder, as they happen: `ready`, then `create`, `change`, `delete`, until the folder
   * goes (`end`) or the caller stops (break, or the signal). A watch has no cursor to resume from, so a
   * dropped connection ends it with an error: watch again and list what may have changed meanwhile.
   */
  async *watch(path: string, options: Signal & { recursive?: boolean } = {}): AsyncGenerator<WatchEvent> {
    const messages = readSse(this.t, '/files/watch', {
      query: { path, recursive: options.recursive || undefined },
      signal: options.signal,
      reconnect: false,
      isLast: (m) => m.event === 'end' || m.event === 'error',
    });
    for await (const m of messages) yield { event: m.event, data: m.data ? JSON.parse(m.data) : null } as WatchEvent;
  }
}
