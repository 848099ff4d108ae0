// Where a path really points, and whether that is inside the workdir. Symlinks are followed as far as the
// path exists, so a link inside the workdir that leads out of it counts as outside.
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** `~` and `~/…` mean the home directory, as a shell would read them. */
export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return join(homedir(), p.slice(2));
  return p;
}

/** The absolute, symlink-resolved form of `p` (relative paths are taken from `base`). */
export function realPath(p: string, base: string): string {
  const abs = resolve(base, expandHome(p));
  // Resolve the longest prefix that exists; what does not exist yet cannot be a link.
  let head = abs;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync.native(head), ...rest.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return abs;
      rest.push(head.slice(parent.length).replace(/^[\\/]/, ''));
      head = parent;
    }
  }
}

/** True when `p` (absolute, resolved) is `root` or below it. */
export function isWithin(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** A workdir and the checks against it, with the workdir's own real path computed once. */
export class Workdir {
  readonly root: string;

  constructor(dir: string) {
    this.root = realPath(dir, process.cwd());
  }

  /** The real path of `p` and whether it stays inside. */
  locate(p: string, base: string = this.root): { path: string; inside: boolean } {
    const path = realPath(p, base);
    return { path, inside: isWithin(this.root, path) };
  }
}
