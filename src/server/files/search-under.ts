// Search and find under a path the client names: the target opened and checked first (roots.ts), searched
// through its descriptor where the platform allows (search.ts), so a swapped symlink cannot redirect the
// search, and every result named under the path as the client gave it. `GET /files/search`,
// `GET /files/find` and the MCP tool `search_files` all go through here.
import { join, relative } from 'node:path';
import { BY_DESCRIPTOR, fsError, type FileRoots } from './roots';
import { find, search, type FindResult, type SearchQuery, type SearchResult } from './search';

type Options = Pick<SearchQuery, 'limit' | 'ignore' | 'timeoutMs' | 'signal'>;

/** Contents matching `pattern` in the folder (or the one file) `shown`. */
export async function searchUnder(roots: FileRoots, shown: string, query: Options & { pattern: string; glob?: string }): Promise<SearchResult> {
  const target = await openTarget(roots, shown, true);
  const result = await search({ ...target.query, ...query }).finally(target.close);
  const show = shownAs(target.query.dir, shown);
  for (const m of result.matches) m.path = show(m.path);
  return result;
}

/** Files whose name matches the glob `name` under the folder `shown`. */
export async function findUnder(roots: FileRoots, shown: string, query: Options & { name: string }): Promise<FindResult> {
  const target = await openTarget(roots, shown, false);
  const result = await find({ ...target.query, ...query }).finally(target.close);
  return { paths: result.paths.map(shownAs(target.query.dir, shown)), truncated: result.truncated };
}

/** The folder (or, with `fileToo`, file) to search, opened and checked. */
async function openTarget(roots: FileRoots, shown: string, fileToo: boolean) {
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
}

/** A path under the real folder `real`, as the client named that folder. */
function shownAs(real: string, shown: string) {
  return (p: string) => join(shown, relative(real, p));
}
