// The two packages built from this one package.json: the .vsix (vsce with no flags that skip its checks,
// holding only what runs, small, with its icon and marketplace fields) and the npm tarball; one version
// and one changelog for both.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageVsix, vsixEntries, vsixEntry, type PackagedVsix } from '../helpers/vsix';

const ROOT = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** The marketplace takes up to 200 MiB; the extension keeps to a small fraction (the bundle, the web terminal, node-pty). */
const MAX_VSIX_BYTES = 5 * 1024 * 1024;
const ICON_SIZE = 128;

/** Width and height from a PNG's IHDR chunk; throws on anything that is not a PNG. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG signature');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the .vsix', () => {
  let vsix: PackagedVsix;
  let names: string[];
  before(() => {
    vsix = packageVsix();
    names = vsixEntries(vsix.file);
  });
  after(() => vsix?.cleanup());

  it('packages with `vsce package` and no skipping flags, without warnings, as `npm run package` does', () => {
    assert.doesNotMatch(vsix.output, /WARNING/i, vsix.output);
    assert.equal(pkg.scripts.package, 'npm run build && vsce package --out agent-runtime.vsix');
    assert.doesNotMatch(pkg.scripts.package, /--(allow|skip|no-)/);
  });

  it('holds only run-time files and stays under the size limit', () => {
    const size = statSync(vsix.file).size;
    assert.ok(size < MAX_VSIX_BYTES, `the .vsix is ${size} bytes`);
    const files = names.filter((n) => n.startsWith('extension/')).map((n) => n.slice('extension/'.length));
    const needed = [
      'package.json',
      'readme.md',
      'changelog.md',
      'LICENSE.txt',
      'media/icon.png',
      'dist/extension.js',
      'dist/spawn-helper.js',
      'dist/mcp-sdk.js',
      'media/terminal.html',
      'dist/media/terminal.js',
      'dist/media/xterm.css',
      'node_modules/@lydell/node-pty/package.json',
      'node_modules/@parcel/watcher/index.js',
    ];
    for (const n of needed) assert.ok(files.includes(n), `${n} is packaged (files: ${files.join(', ')})`);
    const allowed =
      /^(package\.json|readme\.md|changelog\.md|LICENSE\.txt|dist\/(extension|spawn-helper|mcp-sdk)\.js|dist\/media\/[\w.-]+\.(js|css)|media\/(terminal\.[\w.-]+|icon\.png)|node_modules\/@lydell\/[\w.-]+\/.+\.(js|node|json)|node_modules\/@lydell\/[\w.-]+\/LICENSE|node_modules\/(@parcel\/watcher[\w-]*|@parcel\/watcher\/node_modules\/picomatch|detect-libc|is-glob|is-extglob)\/(.+\.(js|node)|package\.json|LICENSE))$/;
    assert.deepEqual(
      files.filter((n) => !allowed.test(n)),
      [],
      'nothing but run-time files',
    );
    assert.ok(!files.some((n) => /(^|\/)(src|test|docs|bench|scripts|\.cache)\//.test(n) || n.endsWith('.map') || n.endsWith('.ts')));
  });

  it('carries a 128×128 PNG icon and the marketplace fields, at the version of package.json', () => {
    const manifest = JSON.parse(vsixEntry(vsix.file, 'extension/package.json').toString());
    assert.equal(manifest.version, pkg.version);
    assert.equal(manifest.icon, 'media/icon.png');
    assert.deepEqual(pngSize(vsixEntry(vsix.file, `extension/${manifest.icon}`)), { width: ICON_SIZE, height: ICON_SIZE });
    assert.match(manifest.galleryBanner.color, /^#[0-9a-f]{6}$/i);
    assert.ok(['dark', 'light'].includes(manifest.galleryBanner.theme));
    for (const word of ['remote', 'agents', 'terminal', 'tunnel']) assert.ok(manifest.keywords.includes(word), `keyword ${word}`);
    assert.ok(manifest.categories.includes('AI'));
    assert.match(manifest.repository.url, /^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/);
    assert.match(manifest.homepage, /^https:\/\//);
    assert.match(manifest.bugs.url, /^https:\/\//);
    assert.equal(manifest.license, 'Apache-2.0');
    assert.deepEqual(manifest.extensionKind, ['workspace']);
    // The marketplace's page: what the gallery shows beside the README.
    const vsixManifest = vsixEntry(vsix.file, 'extension.vsixmanifest').toString();
    assert.match(vsixManifest, new RegExp(`<Identity Language="en-US" Id="${pkg.name}" Version="${pkg.version.replace(/\./g, '\\.')}"`));
    for (const asset of ['Icons.Default', 'Content.Changelog', 'Content.License', 'Content.Details']) {
      assert.match(vsixManifest, new RegExp(`Type="Microsoft\\.VisualStudio\\.Services\\.${asset.replace('.', '\\.')}"`), `asset ${asset}`);
    }
    assert.match(vsixManifest, /<Property Id="Microsoft\.VisualStudio\.Services\.Branding\.Color" Value="#[0-9a-fA-F]{6}"/);
  });

  it('shows on its marketplace page pictures that exist here, as PNGs the gallery loads from the repository', () => {
    const local = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    assert.ok(local.length >= 2, 'the README shows the extension');
    for (const src of local) {
      assert.match(src, /^media\/[\w.-]+\.png$/);
      const { width, height } = pngSize(readFileSync(join(ROOT, src)));
      assert.ok(width > 0 && height > 0, src);
    }
    const packaged = [
      ...vsixEntry(vsix.file, 'extension/readme.md')
        .toString()
        .matchAll(/!\[[^\]]*\]\(([^)]+)\)/g),
    ].map((m) => m[1]!);
    assert.deepEqual(
      packaged,
      local.map((src) => `${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/raw/HEAD/${src}`),
    );
  });

  it('claims the VS Code that its API types describe (a newer API would not type-check)', () => {
    const claimed = /^\^(\d+\.\d+)\.\d+$/.exec(pkg.engines.vscode)?.[1];
    assert.ok(claimed, `engines.vscode is a caret range: ${pkg.engines.vscode}`);
    assert.equal(pkg.devDependencies['@types/vscode'], claimed);
    const types = JSON.parse(readFileSync(join(ROOT, 'node_modules/@types/vscode/package.json'), 'utf8'));
    assert.equal(types.version.split('.').slice(0, 2).join('.'), claimed);
    assert.equal(pkg.enabledApiProposals, undefined, 'no proposed API (the marketplace refuses it)');
  });
});

describe('the npm package', () => {
  it('carries the CLI, the changelog and the same version, and none of the extension-only files', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    assert.equal(packed.version, pkg.version);
    const files: string[] = packed.files.map((f: { path: string }) => f.path);
    for (const n of [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'dist/cli.js',
      'dist/spawn-helper.js',
      'dist/mcp-sdk.js',
      'media/terminal.html',
      'dist/media/terminal.js',
    ]) {
      assert.ok(files.includes(n), `${n} is in the npm package (files: ${files.join(', ')})`);
    }
    assert.deepEqual(
      files.filter((n) => n === 'dist/extension.js' || n.endsWith('.map') || n.startsWith('media/icon') || n.startsWith('media/screenshots')),
      [],
    );
  });
});
