// The web terminal's files: the page and its stylesheet live in `media/`, the browser bundle and
// xterm.js's stylesheet are built by esbuild.mjs into `dist/media/`. Both are found from wherever this
// module runs (the CLI bundle in dist/, the extension's dist/, or the sources under tsx).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface PageAssets {
  html: string;
  /** URL name under /terminal/assets/ → absolute path (a Map: a name like `constructor` must find nothing). */
  files: ReadonlyMap<string, string>;
}

export function findPageAssets(start: string = __dirname): PageAssets | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const html = join(dir, 'media', 'terminal.html');
    if (existsSync(html)) {
      return {
        html,
        files: new Map([
          ['terminal.css', join(dir, 'media', 'terminal.css')],
          ['terminal.js', join(dir, 'dist', 'media', 'terminal.js')],
          ['xterm.css', join(dir, 'dist', 'media', 'xterm.css')],
        ]),
      };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The page holds the API key in sessionStorage while open, so it must not be framed by another site,
 * and it loads nothing from anywhere but this server.
 */
export const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};
