// Search (a regex over contents) and find (names), both skipping `.git` and what `.gitignore` files
// exclude unless `ignore=false`. ripgrep does the work where it is installed (`rg` on PATH); otherwise a
// walk in Node does, with the same rules: `.gitignore` files of the folder, its subfolders and its
// parents; hidden files searched; symlinks not followed; files with a NUL byte skipped as binary.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import ignore, { type Ignore } from 'ignore';
import { BadRequest } from '../errors';

/** Longest `text` of a match, bytes' worth of characters; a longer line is cut (minified files). */
export const MATCH_TEXT_MAX = 2000;

export type SearchBackend = 'ripgrep' | 'node';

export interface SearchQuery {
  /** Real path of the folder (or file) to search; results are named under it. */
  dir: string;
  /**
   * An open descriptor of `dir` (Linux): the search then reads what was opened and checked, whatever
   * happens to the path meanwhile. ripgrep gets it as its fd 3 and starts in it (`cwd` /proc/self/fd/3).
   */
  fd?: number;
  /** `dir` is a single file. */
  file?: boolean;
  pattern: string;
  glob?: string;
  limit: number;
  /** false: search ignored files and `.git` too. */
  ignore: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Which does the work; default ripgrep when installed. */
  backend?: SearchBackend;
}

export interface Match {
  path: string;
  line: number;
  column: number;
  text: string;
}

export interface SearchResult {
  matches: Match[];
  truncated: boolean;
}

export interface FindResult {
  paths: string[];
  truncated: boolean;
}

/** The `rg` program when it runs here, else undefined (checked once). */
let rgFound: string | null | undefined;
export function ripgrep(): string | undefined {
  if (rgFound === undefined) {
    const r = spawnSync('rg', ['--version'], { windowsHide: true, timeout: 5000 });
    rgFound = r.status === 0 ? 'rg' : null;
  }
  return rgFound ?? undefined;
}

export function searchBackend(): SearchBackend {
  return ripgrep() ? 'ripgrep' : 'node';
}

/** The ripgrep flags that give the rules above; exported so tests and the benchmark run rg the same way. */
export function rgRuleArgs(honourIgnore: boolean): string[] {
  if (!honourIgnore) return ['--hidden', '--no-ignore'];
  return ['--hidden', '--no-require-git', '--no-ignore-dot', '--no-ignore-global', '--no-ignore-exclude', '--glob', '!.git'];
}

export async function search(q: SearchQuery): Promise<SearchResult> {
  const rg = q.backend === 'node' ? undefined : ripgrep();
  const result = rg ? await searchRg(rg, q) : await searchNode(q);
  if (!result.truncated) result.matches.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line));
  return result;
}

export async function find(q: Omit<SearchQuery, 'pattern' | 'glob'> & { name: string }): Promise<FindResult> {
  if (q.name.includes('/') || q.name.includes('\0')) throw new BadRequest('name is a glob over file names and must not contain "/"');
  const matcher = ignore().add(q.name);
  const paths: string[] = [];
  let truncated = false;
  const take = (path: string): boolean => {
    if (!matcher.ignores(basename(path))) return true;
    if (paths.length >= q.limit) {
      truncated = true;
      return false;
    }
    paths.push(path);
    return true;
  };
  const rg = q.backend === 'node' ? undefined : ripgrep();
  const deadline = Date.now() + q.timeoutMs;
  if (rg) {
    const t = rgTarget(q);
    truncated = (await runLines(rg, ['--files', ...rgRuleArgs(q.ignore), '--', t.arg], q, (line) => take(t.name(line)), t)).timedOut || truncated;
  } else {
    await walk(q, q.ignore, q.signal, (file) => (Date.now() > deadline ? !(truncated = true) : take(file)));
  }
  if (!truncated) paths.sort();
  return { paths, truncated };
}

async function searchRg(rg: string, q: SearchQuery): Promise<SearchResult> {
  const matches: Match[] = [];
  let truncated = false;
  const args = ['--json', ...rgRuleArgs(q.ignore)];
  // A whitelist glob first: later globs win, so `!.git` still keeps .git out.
  if (q.glob) args.splice(1, 0, '--glob', q.glob);
  const t = rgTarget(q);
  args.push('-e', q.pattern, '--', t.arg);
  const run = await runLines(
    rg,
    args,
    q,
    (line) => {
      if (!line.startsWith('{"type":"match"')) return true;
      if (matches.length >= q.limit) {
        truncated = true;
        return false;
      }
      const d = JSON.parse(line).data;
      const text = textOf(d.lines);
      const path = t.name(textOf(d.path));
      const sub = d.submatches[0];
      matches.push({ path, line: d.line_number, column: (sub?.start ?? 0) + 1, text: cut(text.endsWith('\n') ? text.slice(0, -1) : text) });
      return true;
    },
    t,
  );
  return { matches, truncated: truncated || run.timedOut };
}

/** What rg is told to search, and how its answers' paths map back to `q.dir`. */
function rgTarget(q: Pick<SearchQuery, 'dir' | 'fd' | 'file'>): { arg: string; cwd?: string; fd?: number; name(p: string): string } {
  if (q.fd === undefined) return { arg: q.dir, name: (p) => p };
  if (q.file) return { arg: '/proc/self/fd/3', fd: q.fd, name: () => q.dir };
  return { arg: '.', cwd: '/proc/self/fd/3', fd: q.fd, name: (p) => join(q.dir, p.replace(/^\.\//, '')) };
}

/** Runs `rg`, handing each line of its output to `take` until it returns false; rg's errors become 400s. */
function runLines(
  rg: string,
  args: string[],
  q: Pick<SearchQuery, 'timeoutMs' | 'signal'>,
  take: (line: string) => boolean,
  target: { cwd?: string; fd?: number } = {},
): Promise<{ timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
    if (target.fd !== undefined) stdio.push(target.fd);
    const child = spawn(rg, args, { stdio, cwd: target.cwd, windowsHide: true }) as ChildProcessByStdio<null, Readable, Readable>;
    let stopped = false;
    let stderr = '';
    const stop = () => {
      stopped = true;
      child.kill();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, q.timeoutMs);
    q.signal?.addEventListener('abort', stop, { once: true });
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4096)));
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (stopped) return;
      if (!take(line)) {
        stop();
        lines.close();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      q.signal?.removeEventListener('abort', stop);
      // 0: found, 1: nothing found, 2: an error; with results, errors are unreadable files (as rg says too).
      if (code === 2 && !stopped && /regex parse error|error parsing|unrecognized|invalid/i.test(stderr)) {
        return reject(new BadRequest(`bad pattern or glob: ${stderr.trim().split('\n').slice(-6).join(' ')}`));
      }
      resolve({ timedOut });
    });
  });
}

function textOf(v: { text?: string; bytes?: string }): string {
  return v.text ?? Buffer.from(v.bytes ?? '', 'base64').toString('utf8');
}

function cut(text: string): string {
  return text.length > MATCH_TEXT_MAX ? text.slice(0, MATCH_TEXT_MAX) : text;
}

async function searchNode(q: SearchQuery): Promise<SearchResult> {
  let re: RegExp;
  try {
    re = new RegExp(q.pattern, 'u');
  } catch {
    try {
      re = new RegExp(q.pattern);
    } catch (err) {
      throw new BadRequest(`bad pattern: ${(err as Error).message}`);
    }
  }
  const globber = q.glob ? ignore().add(q.glob) : undefined;
  const matches: Match[] = [];
  let truncated = false;
  const deadline = Date.now() + q.timeoutMs;
  await walk(q, q.ignore, q.signal, async (file, read) => {
    if (Date.now() > deadline) return !(truncated = true);
    if (globber && !globber.ignores(relative(q.dir, file) || basename(file))) return true;
    const data = await fsp.readFile(read).catch(() => undefined);
    if (!data || data.includes(0)) return true;
    const lines = data.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const m = re.exec(lines[i]);
      if (!m) continue;
      if (matches.length >= q.limit) {
        truncated = true;
        return false;
      }
      matches.push({ path: file, line: i + 1, column: Buffer.byteLength(lines[i].slice(0, m.index)) + 1, text: cut(lines[i]) });
    }
    return true;
  });
  return { matches, truncated };
}

interface Rules {
  base: string;
  ig: Ignore;
}

/**
 * Visits every file under `q.dir` (or `q.dir` itself when it is a file) that the rules keep, in no
 * particular order, until `visit` returns false. `visit` gets the file's name under `q.dir` and the path
 * to read it by (through the descriptor, when there is one).
 */
async function walk(
  q: Pick<SearchQuery, 'dir' | 'fd' | 'file'>,
  honourIgnore: boolean,
  signal: AbortSignal | undefined,
  visit: (file: string, read: string) => boolean | Promise<boolean>,
): Promise<void> {
  const root = q.fd === undefined ? q.dir : `/proc/self/fd/${q.fd}`;
  const top = await fsp.stat(root);
  if (!top.isDirectory()) {
    await visit(q.dir, root);
    return;
  }
  const inherited: Rules[] = honourIgnore ? await parentRules(q.dir) : [];
  // `rel`: the folder under the root ('' for the root), named the same under q.dir and under `root`.
  const stack: { rel: string; rules: Rules[] }[] = [{ rel: '', rules: inherited }];
  while (stack.length > 0) {
    if (signal?.aborted) return;
    const { rel, rules: outer } = stack.pop()!;
    const dir = rel ? join(root, rel) : root;
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    let rules = outer;
    if (honourIgnore) {
      const own = await readRules(dir, rel ? join(q.dir, rel) : q.dir);
      if (own) rules = [...outer, own];
    }
    for (const e of entries) {
      const childRel = rel ? join(rel, e.name) : e.name;
      const named = join(q.dir, childRel);
      const isDir = e.isDirectory();
      if (honourIgnore && ((isDir && e.name === '.git') || ignored(rules, named, isDir))) continue;
      if (isDir) stack.push({ rel: childRel, rules });
      else if (e.isFile() && !(await visit(named, join(root, childRel)))) return;
    }
  }
}

/** The `.gitignore` in `dir` (read there), its patterns relative to `named` (the folder's name under q.dir). */
async function readRules(dir: string, named = dir): Promise<Rules | undefined> {
  const text = await fsp.readFile(join(dir, '.gitignore'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : { base: named, ig: ignore().add(text) };
}

/** The `.gitignore` files of the folders above `dir`, outermost first (ripgrep reads them too). */
async function parentRules(dir: string): Promise<Rules[]> {
  const out: Rules[] = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    const r = await readRules(d);
    if (r) out.unshift(r);
    if (dirname(d) === d) return out;
  }
}

/** As git decides: the deepest `.gitignore` that says anything about the path wins. */
function ignored(rules: Rules[], full: string, isDir: boolean): boolean {
  for (let i = rules.length - 1; i >= 0; i--) {
    const rel = relative(rules[i].base, full).split(sep).join('/');
    const r = rules[i].ig.test(isDir ? `${rel}/` : rel);
    if (r.ignored) return true;
    if (r.unignored) return false;
  }
  return false;
}
