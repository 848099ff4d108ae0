// The .vsix itself: built with @vscode/vsce from this checkout, holding only what runs, and small.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { packageVsix } from '../helpers/vsix';

/** The package must stay small: the bundle, the web terminal and the node-pty fallback. */
const MAX_VSIX_BYTES = 2 * 1024 * 1024;

describe('the .vsix', () => {
  it('packages with vsce, with only run-time files, under the size limit', () => {
    const vsix = packageVsix();
    const out = vsix.file;
    try {
      const size = statSync(out).size;
      assert.ok(size < MAX_VSIX_BYTES, `the .vsix is ${size} bytes`);
      const names = execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', out], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter((n) => n.startsWith('extension/'))
        .map((n) => n.slice('extension/'.length));
      for (const needed of ['package.json', 'dist/extension.js', 'dist/spawn-helper.js', 'media/terminal.html', 'dist/media/terminal.js', 'dist/media/xterm.css', 'node_modules/@lydell/node-pty/package.json']) {
        assert.ok(names.includes(needed), `${needed} is packaged`);
      }
      const allowed = /^(package\.json|README\.md|readme\.md|LICENSE(\.txt)?|docs\/extension\.md|dist\/(extension|spawn-helper)\.js|dist\/media\/[\w.-]+\.(js|css)|media\/[\w.-]+|node_modules\/@lydell\/.+)$/;
      const stray = names.filter((n) => !allowed.test(n));
      assert.deepEqual(stray, [], 'nothing but run-time files');
      assert.ok(!names.some((n) => n.startsWith('src/') || n.startsWith('test/') || n.endsWith('.map') || n.endsWith('.ts')));
    } finally {
      vsix.cleanup();
    }
  });
});
