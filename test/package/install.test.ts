// The npm package end to end, as a user meets it: `npm pack` from a fresh copy of this checkout (its
// `prepack` builds), the tarball installed from the npm registry into an empty folder with `--omit=dev`
// and no compiler reachable, its `agent-server` run (health, a job, a terminal through node-pty's native
// part, the web page) and stopped by its pid, every `exports` entry imported; `npm publish --dry-run`
// without a warning and without publishing; the .vsix of this checkout at the same version.
// One pack, one install and one .vsix serve every check (npm's cache is kept between runs: pack.ts).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import WebSocket from 'ws';
import { tempDir } from '../helpers/server';
import { packageVsix, vsixEntry, type PackagedVsix } from '../helpers/vsix';
import {
  freshCheckout,
  installWithoutCompiler,
  loadEntry,
  mustSucceed,
  npm,
  npmEnv,
  pack,
  ROOT,
  startAgentServer,
  type Installed,
  type Packed,
  type RunningServer,
} from './pack';

const KEY = 'package-test-key-0123456789abcdefghijklmnop';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
/** Planted in the copy that is packed, where a developer's checkout might hold them; none may be packed. */
const PLANTED = `npm_${randomBytes(18).toString('hex')}`;
const PLANTED_FILES: Record<string, string> = {
  '.env': `AGENT_RUNTIME_API_KEY=${PLANTED}\n`,
  '.npmrc': `//registry.npmjs.org/:_authToken=${PLANTED}\n`,
  'agent-runtime.key': `${PLANTED}\n`,
};
/** The shapes of credentials that must never ship (private keys, npm/GitHub/AWS tokens). */
const SECRET_SHAPES = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bnpm_[A-Za-z0-9]{36}\b/,
  /\bgh[pousr]_[A-Za-z0-9]{36}\b/,
  /\bAKIA[0-9A-Z]{16}\b/,
  /_authToken\s*=/,
];
/** Everything the npm package may hold: the CLI's bundles, the web terminal's files, the typed entries, the docs npm always takes. */
const ALLOWED = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/[\w./-]+\.(js|cjs|mjs|css|d\.ts|d\.cts|d\.mts)|media\/terminal\.(html|css))$/;
/** An installed package this size or more means something big slipped in (it is about 3 MB unpacked). */
const MAX_UNPACKED_BYTES = 20 * 1024 * 1024;
/**
 * Packages `ws` (bundled) loads when present, inside try/catch, to speed up frames; without them it uses its
 * own JavaScript. They are not dependencies.
 */
const OPTIONAL_AT_RUN_TIME = new Set(['bufferutil', 'utf-8-validate']);
const PACKAGE_NAME = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]+)?$/;

/** The packages a bundle loads at run time (bare `require`, `import()` and `from` specifiers; not Node's own). */
function packagesLoadedBy(bundle: string): Set<string> {
  const found = new Set<string>();
  // Comment lines (a library's usage examples) and calls inside string literals (ajv's code templates,
  // `'require("ajv/dist/runtime/equal")'`) load nothing.
  const code = bundle
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join('\n');
  for (const re of [/(?<![`'"])\brequire\(\s*["']([^"']+)["']\s*\)/g, /(?<![`'"])\bimport\(\s*["']([^"']+)["']\s*\)/g, /\bfrom\s*["']([^"']+)["']/g]) {
    for (const [, spec] of code.matchAll(re)) {
      if (!PACKAGE_NAME.test(spec!) || isBuiltin(spec!)) continue;
      const parts = spec!.split('/');
      found.add(spec!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return found;
}

let work = '';
let checkout = '';
/** The tarball, extracted: `package/` inside. */
let unpacked = '';
let packed: Packed;
let installed: Installed;
let vsix: PackagedVsix | undefined;
let server: RunningServer | undefined;

/** Every file under `dir`, relative to it, with / as separator. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** Every string at the leaves of an `exports` value (targets, under any condition). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(exportTargets);
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

/** The package's entry points as import specifiers: `name` for ".", `name/sub` for "./sub" (none when `exports` is absent). */
function exportSpecifiers(name: string, exportsField: unknown): { specifier: string; target: unknown }[] {
  if (exportsField === undefined) return [];
  const isMap =
    typeof exportsField === 'object' && exportsField !== null && !Array.isArray(exportsField) && Object.keys(exportsField).every((k) => k.startsWith('.'));
  const entries: [string, unknown][] = isMap ? Object.entries(exportsField as object) : [['.', exportsField]];
  return entries.filter(([sub]) => !sub.includes('*')).map(([sub, target]) => ({ specifier: sub === '.' ? name : `${name}/${sub.slice(2)}`, target }));
}

/** The conditions an entry answers to, at any depth (a plain string answers to both `import` and `require`). */
function conditionsOf(target: unknown): Set<string> {
  if (typeof target === 'string') return new Set(['import', 'require']);
  const found = new Set<string>();
  if (target && typeof target === 'object' && !Array.isArray(target)) {
    for (const [k, v] of Object.entries(target)) {
      found.add(k);
      for (const inner of conditionsOf(v)) if (typeof v === 'object') found.add(inner);
    }
  }
  // Node loads these for both `import` and `require` (`browser`, `types` and the like it never picks).
  if (found.has('default') || found.has('node')) found.add('import').add('require');
  return found;
}

before(async () => {
  work = tempDir('ar-package-');
  checkout = freshCheckout(join(work, 'checkout'));
  unpacked = join(work, 'unpacked');
  for (const [name, text] of Object.entries(PLANTED_FILES)) writeFileSync(join(checkout, name), text);
  packed = await pack(checkout, work);
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', packed.tarball, '-C', unpacked]);
  const installing = installWithoutCompiler(packed.tarball, work);
  // vsce is CPU-bound and the install mostly waits on the network and the disk: side by side. vsce packs
  // this checkout as built (`npm test` builds first): it lists dependencies with `npm list`, which a copy
  // with linked node_modules fails.
  try {
    vsix = packageVsix();
  } finally {
    installed = await installing;
  }
});

after(async () => {
  await server?.stop();
  vsix?.cleanup();
});

describe('npm pack', () => {
  it('builds from a fresh checkout (prepack) and holds only what runs: no sources, tests, maps or secrets', () => {
    assert.equal(pkg.scripts.prepack, 'npm run build', 'packing builds first, so a tarball never carries a stale or missing dist/');
    const files = packed.files.map((f) => f.path);
    assert.deepEqual(
      files.filter((f) => !ALLOWED.test(f)),
      [],
      `only run-time files (all: ${files.join(', ')})`,
    );
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/cli.js',
      'dist/spawn-helper.js',
      'media/terminal.html',
      'dist/media/terminal.js',
    ]) {
      assert.ok(files.includes(f), `${f} is packed`);
    }
    assert.ok(!files.includes('dist/extension.js'), "the extension's bundle goes in the .vsix only");
    const entryPoints = [...Object.values<string>(pkg.bin), ...exportTargets(pkg.exports), ...(pkg.types ? [pkg.types] : [])].map((p) =>
      p.replace(/^\.\//, ''),
    );
    for (const p of entryPoints) assert.ok(files.includes(p), `${p} (bin, exports or types of package.json) is packed`);
    assert.ok(packed.unpackedSize < MAX_UNPACKED_BYTES, `${packed.unpackedSize} bytes unpacked`);

    // What is inside, read from the tarball itself.
    const inside = filesUnder(join(unpacked, 'package'));
    assert.deepEqual(inside.sort(), [...files].sort(), 'npm pack --json lists what the tarball holds');
    for (const f of inside) {
      const text = readFileSync(join(unpacked, 'package', f), 'latin1');
      assert.ok(!text.includes(PLANTED), `${f} carries nothing of the planted secrets`);
      for (const shape of SECRET_SHAPES) assert.doesNotMatch(text, shape, `${f} holds what looks like a credential`);
      assert.ok(!text.includes(checkout), `${f} names the folder it was built in`);
    }
    assert.ok((statSync(join(unpacked, 'package/dist/cli.js')).mode & 0o111) !== 0, 'the bin is executable');
  });

  it('declares as dependencies exactly the packages its bundles load (the rest is bundled in)', () => {
    const loaded = new Set<string>();
    for (const f of packed.files.map((x) => x.path).filter((p) => /^dist\/.+\.(js|cjs|mjs)$/.test(p) && !p.startsWith('dist/media/'))) {
      for (const name of packagesLoadedBy(readFileSync(join(unpacked, 'package', f), 'utf8'))) loaded.add(name);
    }
    for (const name of OPTIONAL_AT_RUN_TIME) loaded.delete(name);
    // A bundled library listed here would be downloaded and installed on every machine for nothing.
    assert.deepEqual(
      Object.keys(pkg.dependencies).sort(),
      [...loaded].sort(),
      'dependencies = what dist/ requires at run time; bundled libraries belong in devDependencies',
    );
  });
});

describe('npm publish --dry-run', () => {
  let registry: Server;
  const seen: string[] = [];
  before(async () => {
    // A registry on loopback that knows no package, so nothing could reach the real one; it only records.
    registry = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  });
  after(() => registry.close());

  it('is clean: no warning about fields, bin or files, and nothing is published', async () => {
    const url = `http://127.0.0.1:${(registry.address() as { port: number }).port}/`;
    const userconfig = join(work, 'publish.npmrc');
    // A token for the loopback registry only: without one, npm warns that publishing needs a login.
    writeFileSync(userconfig, `registry=${url}\n//${new URL(url).host}/:_authToken=dry-run-only\n`);
    // prepack already built this copy when it was packed.
    const r = await npm(['publish', '--dry-run', '--ignore-scripts'], checkout, npmEnv({ npm_config_userconfig: userconfig, npm_config_registry: url }));
    mustSucceed('npm publish --dry-run', r);
    const warnings = (r.stdout + r.stderr).split('\n').filter((l) => /\b(warn|WARN|error|ERR!)\b/.test(l));
    assert.deepEqual(warnings, [], r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(`\\+ ${pkg.name}@${pkg.version.replace(/\./g, '\\.')}`));
    assert.match(r.stderr, /\(dry-run\)/);
    assert.deepEqual(
      seen.filter((s) => !s.startsWith('GET ')),
      [],
      'only reads reached the registry',
    );
  });
});

describe('the installed package (empty folder, --omit=dev, no compiler)', () => {
  it('installed with no build tool run, no warning and no dev dependency', () => {
    assert.equal(installed.buildCalls(), '', `a dependency tried to compile:\n${installed.output}`);
    // npm 11 lists packages with install scripts it has not been told to allow: @parcel/watcher's, which
    // builds only when asked to (docs/install.md). Any other warning (deprecated, engine) is a finding.
    const warnings = installed.output.split('\n').filter((l) => /\bwarn\b/i.test(l));
    assert.deepEqual(
      warnings.filter((l) => !/^npm warn install-scripts\b/.test(l)),
      [],
      installed.output,
    );
    for (const l of warnings) assert.doesNotMatch(l.replace('@parcel/watcher@', ''), /@[\d]/, `only @parcel/watcher has an install script: ${l}`);
    const top = readdirSync(join(installed.app, 'node_modules')).flatMap((n) =>
      n.startsWith('@') ? readdirSync(join(installed.app, 'node_modules', n)).map((m) => `${n}/${m}`) : [n],
    );
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(top.includes(dep), `${dep} is installed`);
    assert.deepEqual(
      Object.keys(pkg.devDependencies).filter((d) => top.includes(d)),
      [],
      'no dev dependency is installed',
    );
    const manifest = JSON.parse(readFileSync(join(installed.packageDir, 'package.json'), 'utf8'));
    assert.equal(manifest.version, pkg.version);
  });

  it('runs agent-server: health, a job, a terminal through node-pty, the web page; stops by its pid', async () => {
    const state = join(work, 'state');
    // The server's own environment: the usual one (a VM's PATH), no npm or tsx settings from this runner.
    server = await startAgentServer(
      installed.bin,
      ['--port', '0', '--terminal-port', '-1', '--state-dir', state],
      { ...npmEnv(), HOME: join(work, 'home'), AGENT_RUNTIME_API_KEY: KEY },
      installed.app,
    );
    const running = server;
    const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };
    const diag = () => `\n--- agent-server ---\n${running.log()}`;

    const health = await (await fetch(`${running.url}/health`, { headers })).json();
    assert.equal(health.status, 'ok', diag());
    assert.equal(health.version, pkg.version);
    assert.equal(health.pid, running.child.pid);
    assert.equal(health.terminal_supported, true, `node-pty loads from the installed package${diag()}`);
    assert.equal(health.files_watch_supported, true, `@parcel/watcher loads from the installed package${diag()}`);

    const submitted = await fetch(`${running.url}/exec`, { method: 'POST', headers, body: JSON.stringify({ command: 'echo job-$((6*7))' }) });
    assert.equal(submitted.status, 202, diag());
    const { jobId } = await submitted.json();
    let job: any;
    for (let i = 0; i < 12 && !['completed', 'failed', 'timeout'].includes(job?.status); i++) {
      job = await (await fetch(`${running.url}/jobs/${jobId}?wait=5`, { headers })).json();
    }
    assert.equal(job.status, 'completed', JSON.stringify(job) + diag());
    assert.equal(job.exitCode, 0);
    assert.equal(job.stdout, 'job-42\n');

    // /mcp loads the MCP SDK from its own file in dist/ at the first request: it must be there and whole.
    const mcp = await fetch(`${running.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    assert.equal(mcp.status, 200, diag());
    const tools = (await mcp.json()).result.tools.map((t: { name: string }) => t.name);
    assert.ok(tools.includes('run_command'), `${tools}${diag()}`);

    const ws = new WebSocket(`${running.url.replace(/^http/, 'ws')}/terminal/ws?command=${encodeURIComponent('echo pty-$((6*7))')}`, {
      headers: { 'x-api-key': KEY },
    });
    let screen = '';
    let session: { id?: string } = {};
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no terminal output within 30 s: ${JSON.stringify(screen)}${diag()}`)), 30_000);
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('\u0000')) {
          const control = JSON.parse(text.slice(1));
          if (control.type === 'session') session = control;
        } else screen += text;
        if (screen.includes('pty-42')) {
          clearTimeout(timer);
          done();
        }
      });
      ws.on('error', fail);
    });
    assert.ok(session.id, 'the session frame came first');
    ws.close();

    const page = await fetch(`${running.url}/terminal`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    for (const asset of ['terminal.js', 'xterm.css', 'terminal.css']) {
      const res = await fetch(`${running.url}/terminal/assets/${asset}`);
      assert.equal(res.status, 200, `the web terminal's ${asset} is installed`);
      assert.ok((await res.arrayBuffer()).byteLength > 0);
    }

    const code = await running.stop();
    assert.equal(code, 0, `a clean stop on SIGTERM${diag()}`);
    assert.throws(() => process.kill(health.pid, 0), /ESRCH/, 'the server is gone');
  });

  it('imports every entry of package.json `exports` (and the bin resolves) from the installed package', () => {
    const entries = exportSpecifiers(pkg.name, pkg.exports);
    const manifest = JSON.parse(readFileSync(join(installed.packageDir, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.exports, pkg.exports, 'the installed manifest keeps `exports`');
    for (const target of exportTargets(pkg.exports)) assert.ok(existsSync(join(installed.packageDir, target)), `${target} is installed`);
    assert.ok(existsSync(installed.bin) && statSync(installed.bin).isFile(), 'npm linked the agent-server bin');
    for (const { specifier, target } of entries) {
      const conditions = conditionsOf(target);
      const json = exportTargets(target).every((t) => t.endsWith('.json'));
      for (const how of ['import', 'require'] as const) {
        if (!conditions.has(how)) continue;
        const names = loadEntry(installed.app, specifier, how, json);
        assert.ok(names.length > 0, `${how} ${specifier}: exports nothing`);
      }
    }
    assert.equal(execFileSync(installed.bin, ['--version'], { env: npmEnv(), encoding: 'utf8' }).trim(), pkg.version);
  });
});

describe('one version for both packages', () => {
  it('the .vsix and the npm tarball carry the version of package.json, and the changelog has its entry', () => {
    assert.ok(vsix, 'the .vsix was built');
    const inVsix = JSON.parse(vsixEntry(vsix.file, 'extension/package.json').toString()).version;
    const inTarball = JSON.parse(execFileSync('tar', ['-xzOf', packed.tarball, 'package/package.json'], { encoding: 'utf8' })).version;
    assert.equal(inVsix, pkg.version);
    assert.equal(inTarball, pkg.version);
    assert.equal(packed.version, pkg.version);
    const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
    assert.match(changelog, new RegExp(`^## ${pkg.version.replace(/\./g, '\\.')}\\b`, 'm'), 'CHANGELOG.md has an entry for this version');
    assert.match(vsixEntry(vsix.file, 'extension/changelog.md').toString(), new RegExp(`^## ${pkg.version.replace(/\./g, '\\.')}\\b`, 'm'));
    assert.match(
      execFileSync('tar', ['-xzOf', packed.tarball, 'package/CHANGELOG.md'], { encoding: 'utf8' }),
      new RegExp(`^## ${pkg.version.replace(/\./g, '\\.')}\\b`, 'm'),
    );
  });
});
