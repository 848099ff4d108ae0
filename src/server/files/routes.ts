// The files API's routes (docs/files.md), declared once. Behind the API key like every route but /health.
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { BadRequest } from '../errors';
import { sendJson } from '../http/respond';
import type { Method, Operation, RouteSpec } from '../http/route-spec';
import { bool, error, int, json, jsonBody, num, obj, queryParam, str } from '../http/schema';
import { sendContent, writeContent } from './content';
import { boolParam, intParam, list, mkdir, move, remove, stat } from './listing';
import { fsError, type FileRoots } from './roots';
import { findUnder, searchUnder } from './search-under';
import type { Watches } from './watch';

export interface FilesLimits {
  filesMaxUploadBytes: number;
  filesMaxResults: number;
  filesSearchTimeoutSeconds: number;
  filesListMaxEntries: number;
  filesMaxWatches: number;
}

/** Results per search or find when the client names no limit. */
export const DEFAULT_RESULTS = 1000;
/** Entries per listing page when the client names no limit. */
export const DEFAULT_LIST = 1000;

/** `PUT /files/content` streams its body to disk: the app's JSON body parser leaves it alone. */
export function isUpload(req: IncomingMessage): boolean {
  return req.method === 'PUT' && (req.url === '/files/content' || req.url?.startsWith('/files/content?') === true);
}

export function filesRoutes(roots: FileRoots, watches: Watches, limits: FilesLimits): RouteSpec[] {
  // Every handler's file-system errors become the client's errors, named by the path the client gave
  // (a path inside /proc/self/fd means nothing to a client).
  type Handler = (req: Request, res: Response) => Promise<void>;
  const named =
    (h: Handler): Handler =>
    (req, res) =>
      h(req, res).catch((err) => {
        throw fsError(err, typeof req.query.path === 'string' ? req.query.path : undefined);
      });
  const specs: RouteSpec[] = [];
  const route =
    (method: Method) =>
    (path: string, doc: Operation, h: Handler): void => {
      specs.push({ method, path, auth: 'key', doc, handler: named(h) });
    };
  const r = { get: route('get'), put: route('put'), post: route('post'), delete: route('delete') };
  const pathOf = (req: Request, name = 'path') => roots.resolve(req.query[name], name);
  /** What a search and a find share: their `limit` and `ignore`, the time bound, and stopping when the client goes. */
  const scanOptions = (req: Request, res: Response) => {
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    return {
      limit: intParam(req.query.limit, 'limit', 1, limits.filesMaxResults) ?? Math.min(DEFAULT_RESULTS, limits.filesMaxResults),
      ignore: !(req.query.ignore === 'false' || req.query.ignore === '0'),
      timeoutMs: limits.filesSearchTimeoutSeconds * 1000,
      signal: abort.signal,
    };
  };

  r.get(
    '/files/content',
    {
      summary: 'A file’s bytes, streamed; `Range: bytes=A-B` gives 206; ETag, Last-Modified, If-None-Match',
      parameters: [pathQ],
      responses: {
        '200': { description: 'the bytes', content: { 'application/octet-stream': {} } },
        '206': { description: 'the range asked for', content: { 'application/octet-stream': {} } },
        '304': { description: 'not modified (If-None-Match)' },
        '416': error('range not satisfiable'),
        ...faults,
      },
    },
    async (req, res) => {
      await sendContent(roots, pathOf(req), req, res);
    },
  );
  r.put(
    '/files/content',
    {
      summary: 'Replace or create a file atomically from the raw body (streamed to a temporary file beside it, then renamed)',
      parameters: [
        pathQ,
        queryParam('mkdirs', 'create missing parent folders', bool),
        { name: 'If-Match', in: 'header', schema: str, description: 'an ETag: 412 unless the file is that version' },
      ],
      requestBody: { content: { 'application/octet-stream': {} } },
      responses: {
        '200': json(Written, 'replaced'),
        '201': json(Written, 'created'),
        '412': error('the file is not the version If-Match names'),
        '413': error('larger than filesMaxUploadBytes'),
        '507': error('no space left on the device'),
        ...faults,
      },
    },
    async (req, res) => {
      const length = req.headers['content-length'];
      const written = await writeContent(roots, pathOf(req), req, {
        mkdirs: boolParam(req.query.mkdirs, 'mkdirs'),
        ifMatch: req.get('if-match'),
        declaredLength: length === undefined ? undefined : Number(length),
        maxUploadBytes: limits.filesMaxUploadBytes,
      }).catch((err) => {
        // An answer before the whole body was read: the rest of it is not worth reading.
        if (!req.complete) res.setHeader('Connection', 'close');
        throw err;
      });
      const { created, ...view } = written;
      sendJson(res, created ? 201 : 200, view, { ETag: view.etag });
    },
  );
  r.get(
    '/files/stat',
    {
      summary: 'What a path is (a symlink is not followed)',
      parameters: [pathQ],
      responses: {
        '200': json(obj({ path: str, type: EntryType, size: int, mode: int, mtime: num, etag: str }, ['path', 'type', 'size', 'mode', 'mtime', 'etag'])),
        ...faults,
      },
    },
    async (req, res) => {
      sendJson(res, 200, await stat(roots, pathOf(req)));
    },
  );
  r.get(
    '/files/list',
    {
      summary: 'A folder’s entries sorted by name, a page at a time',
      parameters: [
        pathQ,
        queryParam('limit', 'entries per page (default 1000, at most filesListMaxEntries)', int),
        queryParam('cursor', 'the cursor of the previous page'),
      ],
      responses: {
        '200': json(
          obj(
            {
              entries: {
                type: 'array',
                items: obj({ name: str, path: str, type: EntryType, size: int, mtime: num }, ['name', 'path', 'type', 'size', 'mtime']),
              },
              cursor: { type: ['string', 'null'] },
            },
            ['entries', 'cursor'],
          ),
        ),
        ...faults,
      },
    },
    async (req, res) => {
      sendJson(
        res,
        200,
        await list(roots, pathOf(req), req.query.limit, req.query.cursor, {
          defaultLimit: Math.min(DEFAULT_LIST, limits.filesListMaxEntries),
          maxLimit: limits.filesListMaxEntries,
        }),
      );
    },
  );
  r.post(
    '/files/mkdir',
    {
      summary: 'Make a folder (`parents`: and the missing ones above it)',
      requestBody: jsonBody(obj({ path: str, parents: bool }, ['path'])),
      responses: {
        '201': json(obj({ path: str, created: bool }, ['path', 'created']), 'made'),
        '200': json(obj({ path: str, created: bool }, ['path', 'created']), 'already there (parents)'),
        '409': error('already exists'),
        ...faults,
      },
    },
    async (req, res) => {
      const body = bodyObject(req);
      const made = await mkdir(roots, roots.resolve(body.path), boolField(body.parents, 'parents'));
      sendJson(res, made.created ? 201 : 200, made);
    },
  );
  r.post(
    '/files/move',
    {
      summary: 'Move or rename a file or folder',
      requestBody: jsonBody(obj({ from: str, to: str, overwrite: bool }, ['from', 'to'])),
      responses: { '200': json(obj({ from: str, to: str }, ['from', 'to'])), '409': error('the target exists (overwrite=true replaces it)'), ...faults },
    },
    async (req, res) => {
      const body = bodyObject(req);
      sendJson(res, 200, await move(roots, roots.resolve(body.from, 'from'), roots.resolve(body.to, 'to'), boolField(body.overwrite, 'overwrite')));
    },
  );
  r.delete(
    '/files',
    {
      summary: 'Delete a file, link or folder (a folder with contents needs recursive=true)',
      parameters: [pathQ, queryParam('recursive', 'delete a folder with its contents', bool)],
      responses: { '200': json(obj({ path: str, deleted: bool, type: EntryType }, ['path', 'deleted', 'type'])), '409': error('folder not empty'), ...faults },
    },
    async (req, res) => {
      sendJson(res, 200, await remove(roots, pathOf(req), boolParam(req.query.recursive, 'recursive')));
    },
  );
  r.get(
    '/files/search',
    {
      summary: 'A regular expression over file contents (ripgrep where installed); skips .git and .gitignore’d files unless ignore=false',
      parameters: [
        pathQ,
        queryParam('pattern', 'a regular expression', str, true),
        queryParam('glob', 'only files matching this glob'),
        queryParam('limit', 'most matches (default 1000, at most filesMaxResults)', int),
        queryParam('ignore', 'false: search ignored files and .git too', bool),
      ],
      responses: {
        '200': json(
          obj(
            { matches: { type: 'array', items: obj({ path: str, line: int, column: int, text: str }, ['path', 'line', 'column', 'text']) }, truncated: bool },
            ['matches', 'truncated'],
          ),
        ),
        ...faults,
      },
    },
    async (req, res) => {
      const shown = pathOf(req);
      const pattern = req.query.pattern;
      if (typeof pattern !== 'string' || pattern === '') throw new BadRequest('pattern must be a non-empty regular expression');
      const glob = req.query.glob;
      if (glob !== undefined && typeof glob !== 'string') throw new BadRequest('glob must be a string');
      const result = await searchUnder(roots, shown, { pattern, glob: glob || undefined, ...scanOptions(req, res) });
      sendJson(res, 200, result);
    },
  );
  r.get(
    '/files/find',
    {
      summary: 'Files whose name matches a glob; skips .git and .gitignore’d files unless ignore=false',
      parameters: [
        pathQ,
        queryParam('name', 'a glob over file names', str, true),
        queryParam('limit', 'most paths (default 1000, at most filesMaxResults)', int),
        queryParam('ignore', 'false: include ignored files and .git', bool),
      ],
      responses: { '200': json(obj({ paths: { type: 'array', items: str }, truncated: bool }, ['paths', 'truncated'])), ...faults },
    },
    async (req, res) => {
      const shown = pathOf(req);
      const name = req.query.name;
      if (typeof name !== 'string' || name === '') throw new BadRequest('name must be a non-empty glob');
      const result = await findUnder(roots, shown, { name, ...scanOptions(req, res) });
      sendJson(res, 200, result);
    },
  );
  r.get(
    '/files/watch',
    {
      summary: 'Changes under a folder as SSE: `create`, `change`, `delete` with {path, type}; `end` when the folder goes',
      parameters: [pathQ, queryParam('recursive', 'include subfolders', bool)],
      responses: {
        '200': { description: 'Server-Sent Events', content: { 'text/event-stream': {} } },
        '429': error('too many watches (filesMaxWatches)'),
        '501': error('no file watcher on this platform'),
        ...faults,
      },
    },
    async (req, res) => {
      const shown = pathOf(req);
      const recursive = boolParam(req.query.recursive, 'recursive');
      const dir = await roots.openDir(shown).catch((err) => {
        throw fsError(err, shown);
      });
      await watches.stream(dir, shown, recursive, res).catch(async (err) => {
        await dir.close();
        throw fsError(err, shown);
      });
    },
  );
  return specs;
}

function bodyObject(req: Request): Record<string, unknown> {
  const b = req.body as unknown;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new BadRequest('the body must be a JSON object');
  return b as Record<string, unknown>;
}

function boolField(v: unknown, name: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new BadRequest(`${name} must be true or false`);
  return v;
}

const pathQ = queryParam('path', 'absolute, or relative to the server’s cwd', str, true);
/** What every files route may answer besides its own. */
const faults = {
  '400': error('bad parameter, a folder where a file is wanted, or a name not valid here'),
  '403': error('permission denied, or outside the files roots'),
  '404': error('no such file or folder'),
};
const EntryType = { type: 'string', enum: ['file', 'directory', 'symlink', 'other'] };
const Written = obj({ path: str, size: int, mtime: num, etag: str }, ['path', 'size', 'mtime', 'etag']);
