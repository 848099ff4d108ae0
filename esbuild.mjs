// Builds the two hosts of one core: the `agent-server` CLI and the VS Code extension,
// plus the browser bundle of the web terminal and the typed client (`agent-runtime/client`).
// Native modules stay external.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import ts from 'typescript';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // node-pty and @parcel/watcher are native; `vscode` is provided by the extension host; tsx runs the spawn helper only
  // from the sources (tests), never from a bundle.
  external: ['@lydell/node-pty', 'node-pty', '@parcel/watcher', 'vscode', 'tsx'],
};

// The web terminal page (media/terminal.html) loads these two from dist/media/.
const web = { bundle: true, sourcemap: true, logLevel: 'warning', minify: true };
// Not minified: a reader of a stack trace or of node_modules sees the code as written.
const client = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'es2022' };

// A small young generation keeps the server's memory small, and the server forks a process for every job:
// fork copies the page tables, so it takes time in proportion to the parent's resident memory (about 3 ms
// per 100 MiB here). With 1 MiB semi-spaces the server stays near 85 MiB instead of 110 MiB under load,
// and jobs per second rise by about 40% (bench/core.bench.ts). `env -S` passes the flag on Linux and
// macOS; npm's Windows shims read it from this line too. `npm start` passes the same flag.
const CLI_SHEBANG = '#!/usr/bin/env -S node --max-semi-space-size=1';

// `/mcp`'s third-party side (the MCP SDK, zod, ajv: about 900 KB) goes in a file of its own, required at the
// first MCP request (src/server/mcp/route.ts imports `./sdk`): inside the main bundle, even unevaluated, it
// made every server's heap larger, and its memory under a flood of job output grew by a third more.
const mcpSdkApart = {
  name: 'mcp-sdk-apart',
  setup(build) {
    build.onResolve({ filter: /^\.\/sdk$/ }, (args) =>
      args.importer.endsWith(join('src', 'server', 'mcp', 'route.ts')) ? { path: './mcp-sdk.js', external: true } : undefined,
    );
  },
};

// `import('./mcp-sdk.js')` as a `require` (a CommonJS bundle; VS Code 1.90's extension host has no `import()`).
const sdkApart = { plugins: [mcpSdkApart], supported: { 'dynamic-import': false } };

const builds = [
  { ...common, ...sdkApart, entryPoints: ['src/server/cli.ts'], outfile: 'dist/cli.js', banner: { js: CLI_SHEBANG } },
  { ...common, ...sdkApart, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...common, entryPoints: ['src/server/mcp/sdk.ts'], outfile: 'dist/mcp-sdk.js' },
  // Both hosts start shell jobs through this small process (src/server/jobs/spawner.ts says why).
  { ...common, entryPoints: ['src/server/jobs/spawn-helper.ts'], outfile: 'dist/spawn-helper.js' },
  { ...web, entryPoints: ['src/web/terminal.ts'], outfile: 'dist/media/terminal.js', platform: 'browser', target: 'es2020', format: 'iife' },
  { ...web, entryPoints: ['node_modules/@xterm/xterm/css/xterm.css'], outfile: 'dist/media/xterm.css' },
  // The client: ESM for browsers, bundlers and `import` in Node; CJS for `require`. Its one dependency
  // (eventsource-parser) is bundled in, so the package needs nothing more at run time.
  { ...client, entryPoints: ['src/client/index.ts'], outfile: 'dist/client/index.mjs', platform: 'neutral', format: 'esm', mainFields: ['module', 'main'] },
  { ...client, entryPoints: ['src/client/index.ts'], outfile: 'dist/client/index.cjs', platform: 'node', format: 'cjs' },
];

/**
 * The client's `.d.ts` files, beside its bundles: the client's sources alone (its types never reach into
 * the server's), with the options written here so the build needs nothing but `src` and this file.
 * A type error there fails the build.
 */
function emitClientTypes() {
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    strict: true,
    skipLibCheck: true,
    isolatedModules: true,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: 'src/client',
    outDir: 'dist/client',
  };
  const program = ts.createProgram(['src/client/index.ts'], options);
  const result = program.emit();
  const errors = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) fail(errors);
}

function fail(diagnostics) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => '\n' };
  throw new Error(ts.formatDiagnostics(diagnostics, host));
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  emitClientTypes();
  chmodSync('dist/cli.js', 0o755); // runnable as it is installed: through its shebang
}
