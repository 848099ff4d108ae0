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

const builds = [
  { ...common, entryPoints: ['src/server/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
