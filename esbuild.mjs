// Builds the two hosts of one core: the `agent-server` CLI and the VS Code extension,
// plus the browser bundle of the web terminal. Native modules stay external.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // node-pty is native; `vscode` is provided by the extension host.
  external: ['@lydell/node-pty', 'node-pty', 'vscode'],
};

// The web terminal page (media/terminal.html) loads these two from dist/media/.
const web = { bundle: true, sourcemap: true, logLevel: 'warning', minify: true };

const builds = [
  { ...common, entryPoints: ['src/server/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...web, entryPoints: ['src/web/terminal.ts'], outfile: 'dist/media/terminal.js', platform: 'browser', target: 'es2020', format: 'iife' },
  { ...web, entryPoints: ['node_modules/@xterm/xterm/css/xterm.css'], outfile: 'dist/media/xterm.css' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
