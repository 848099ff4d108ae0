// The files API's routes (CONTRACT §9), declared once. Behind the API key like every route but /health.
import type { IncomingMessage } from 'node:http';
import { join, relative } from 'node:path';
import { Router, type Request, type Response } from 'express';
import { BadRequest } from '../errors';
import { sendJson } from '../http/respond';
import { sendContent, writeContent } from './content';
import { boolParam, intParam, list, mkdir, move, remove, stat } from './listing';
import { BY_DESCRIPTOR, fsError, type FileRoots } from './roots';
import { find, search } from './search';
import type { Watches } from './watch';

export interface FilesLimits {
  filesMaxUploadBytes: number;
  filesMaxResults: number;
  filesSearchTimeoutSeconds: number;
  filesListMaxEntries: number;
  filesMaxWatches: number;
}

/** Results per search or find when the client names no limit. */
const DEFAULT_RESULTS = 1000;
/** Entries per listing page when the client names no limit. */
const DEFAULT_LIST = 1000;

/** `PUT /files/content` streams its body to disk: the app's JSON body parser leaves it alone. */
export function isUpload(req: IncomingMessage): boolean {
  return req.method === 'PUT' && (req.url === '/files/content' || req.url?.startsWith('/files/content?') === true);
}

export function filesRoutes(roots: FileRoots, watches: Watches, limits: FilesLimits): Router {
  const router = Router();
  // Every handler's file-system errors become the client's errors, named by the path the client gave
  // (a path inside /proc/self/fd means nothing to a client).
  type Handler = (req: Request, res: Response) => Promise<void>;
  const named =
    (h: Handler): Handler =>
    (req, res) =>
      h(req, res).catch((err) => {
        throw fsError(err, typeof req.query.path === 'string' ? req.query.path : undefined);
      });
  const r = {
    get: (path: string, h: Handler) => router.get(path, named(h)),
    put: (path: string, h: Handler) => router.put(path, named(h)),
    post: (path: string, h: Handler) => router.post(path, named(h)),
    delete: (path: string, h: Handler) => router.delete(path, named(h)),
  };
  const pathOf = (req: Request, name = 'path') => roots.resolve(req.query[name], name);
  /** A path under the real folder `real`, as the client named that folder. */
  const shownAs = (real: string, shown: string) => (p: string) => join(shown, relative(real, p));
  const timeoutMs = limits.filesSearchTimeoutSeconds * 1000;
  /**
   * The folder (or, with `fileToo`, file) to search, opened and checked; searched through its descriptor
   * where the platform allows (search.ts), so a swapped symlink cannot redirect the search.
   */
  const openTarget = async (shown: string, fileToo: boolean) => {
    try {
      const dir = await roots.openDir(shown);
      return { query: { dir: dir.real, fd: BY_DESCRIPTOR ? dir.fd : undefined }, close: () => dir.close() };
    } catch (err) {
      if (!fileToo || (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw fsError(err, shown);
    }
    const handle = await roots.openFile(shown).catch((err) => {
      throw fsError(err, shown);
    });
    return { query: { dir: shown, file: true, fd: BY_DESCRIPTOR ? handle.fd : undefined }, close: () => handle.close() };
  };

  r.get('/files/content', async (req, res) => {
    await sendContent(roots, pathOf(req), req, res);
  });
  r.put('/files/content', async (req, res) => {
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
  });
  r.get('/files/stat', async (req, res) => {
    sendJson(res, 200, await stat(roots, pathOf(req)));
  });
  r.get('/files/list', async (req, res) => {
    sendJson(
      res,
      200,
      await list(roots, pathOf(req), req.query.limit, req.query.cursor, {
        defaultLimit: Math.min(DEFAULT_LIST, limits.filesListMaxEntries),
        maxLimit: limits.filesListMaxEntries,
      }),
    );
  });
  r.post('/files/mkdir', async (req, res) => {
    const body = bodyObject(req);
    const made = await mkdir(roots, roots.resolve(body.path), boolField(body.parents, 'parents'));
    sendJson(res, made.created ? 201 : 200, made);
  });
  r.post('/files/move', async (req, res) => {
    const body = bodyObject(req);
    sendJson(res, 200, await move(roots, roots.resolve(body.from, 'from'), roots.resolve(body.to, 'to'), boolField(body.overwrite, 'overwrite')));
  });
  r.delete('/files', async (req, res) => {
    sendJson(res, 200, await remove(roots, pathOf(req), boolParam(req.query.recursive, 'recursive')));
  });
  r.get('/files/search', async (req, res) => {
    const shown = pathOf(req);
    const pattern = req.query.pattern;
    if (typeof pattern !== 'string' || pattern === '') throw new BadRequest('pattern must be a non-empty regular expression');
    const glob = req.query.glob;
    if (glob !== undefined && typeof glob !== 'string') throw new BadRequest('glob must be a string');
    const target = await openTarget(shown, true);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const result = await search({
      ...target.query,
      pattern,
      glob: glob || undefined,
      limit: intParam(req.query.limit, 'limit', 1, limits.filesMaxResults) ?? Math.min(DEFAULT_RESULTS, limits.filesMaxResults),
      ignore: !(req.query.ignore === 'false' || req.query.ignore === '0'),
      timeoutMs,
      signal: abort.signal,
    }).finally(target.close);
    const show = shownAs(target.query.dir, shown);
    for (const m of result.matches) m.path = show(m.path);
    sendJson(res, 200, result);
  });
  r.get('/files/find', async (req, res) => {
    const shown = pathOf(req);
    const name = req.query.name;
    if (typeof name !== 'string' || name === '') throw new BadRequest('name must be a non-empty glob');
    const target = await openTarget(shown, false);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const result = await find({
      ...target.query,
      name,
      limit: intParam(req.query.limit, 'limit', 1, limits.filesMaxResults) ?? Math.min(DEFAULT_RESULTS, limits.filesMaxResults),
      ignore: !(req.query.ignore === 'false' || req.query.ignore === '0'),
      timeoutMs,
      signal: abort.signal,
    }).finally(target.close);
    sendJson(res, 200, { paths: result.paths.map(shownAs(target.query.dir, shown)), truncated: result.truncated });
  });
  r.get('/files/watch', async (req, res) => {
    const shown = pathOf(req);
    const recursive = boolParam(req.query.recursive, 'recursive');
    const dir = await roots.openDir(shown).catch((err) => {
      throw fsError(err, shown);
    });
    await watches.stream(dir, shown, recursive, res).catch(async (err) => {
      await dir.close();
      throw fsError(err, shown);
    });
  });
  return router;
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
