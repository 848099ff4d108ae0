// Search and find over a real tree with .gitignore files, .git and hidden files: the server's answers
// checked against ripgrep run directly with the same rules, and the Node fallback against both.
// The server is called through the typed client (s.client.files).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { find, rgRuleArgs, search } from '../../src/server/files/search';
import { startTestServer, tempDir } from '../helpers/server';
import { failure } from '../client/helpers';

function tree(): string {
  const dir = tempDir('ar-search-');
  const files: Record<string, string> = {
    '.gitignore': 'build/\n*.log\n!keep.log\n',
    'src/a.ts': 'const needle = 1;\nnothing here\n  needle again needle\n',
    'src/b.js': 'no match\nNeedle capital\n',
    'src/deep/c.ts': 'x\ny\nneedle: ünïcode needle\n',
    'src/.gitignore': 'secret.ts\n',
    'src/secret.ts': 'needle (ignored by src/.gitignore)\n',
    'build/out.ts': 'needle (in an ignored folder)\n',
    'debug.log': 'needle (ignored by pattern)\n',
    'keep.log': 'needle (re-included)\n',
    '.hidden/h.ts': 'needle (hidden, searched)\n',
    '.git/config': 'needle (inside .git)\n',
    'bin.dat': 'needle\0binary\n',
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** ripgrep run directly: `path:line:column:text` lines, sorted. */
function rgDirect(dir: string, pattern: string, extra: string[] = []): string[] {
  let out: string;
  try {
    out = execFileSync('rg', ['--no-heading', '--line-number', '--column', '--with-filename', ...extra, ...rgRuleArgs(true), '-e', pattern, '--', dir], {
      encoding: 'utf8',
    });
  } catch (err) {
    out = (err as { stdout?: string }).stdout ?? '';
  }
  return out.split('\n').filter(Boolean).sort();
}

const asLines = (matches: { path: string; line: number; column: number; text: string }[]) =>
  matches.map((m) => `${m.path}:${m.line}:${m.column}:${m.text}`).sort();

describe('files: search and find', () => {
  it('GET /files/search answers what ripgrep run directly finds', async () => {
    const dir = tree();
    const s = await startTestServer({ filesRoots: [dir] });
    const files = s.client.files;
    try {
      for (const pattern of ['needle', 'n[e]+dle\\b', '^\\s+needle', 'ünïcode']) {
        const r = await files.search(dir, pattern);
        assert.equal(r.truncated, false);
        assert.deepEqual(asLines(r.matches), rgDirect(dir, pattern), pattern);
      }
      const found = asLines((await files.search(dir, 'needle')).matches).map((l) => l.slice(dir.length + 1).split(':')[0]);
      assert.deepEqual([...new Set(found)].sort(), ['.hidden/h.ts', 'keep.log', 'src/a.ts', 'src/deep/c.ts']);
      const globbed = await files.search(dir, 'needle', { glob: '*.ts' });
      assert.deepEqual(asLines(globbed.matches), rgDirect(dir, 'needle', ['--glob', '*.ts']));
      const all = await files.search(dir, 'needle', { ignore: false });
      assert.ok(all.matches.some((m) => m.path === join(dir, '.git/config')));
      assert.ok(all.matches.some((m) => m.path === join(dir, 'build/out.ts')));
      const limited = await files.search(dir, 'needle', { limit: 2 });
      assert.deepEqual([limited.matches.length, limited.truncated], [2, true]);
      const bad = await failure(files.search(dir, '(unclosed'));
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /pattern/);
      assert.equal((await failure(files.search('/etc', 'root'))).status, 403);
    } finally {
      await s.close();
    }
  });

  it('the Node fallback finds what ripgrep finds', async () => {
    const dir = tree();
    for (const pattern of ['needle', 'n[e]+dle\\b', '^\\s+needle', 'ünïcode']) {
      const viaNode = await search({ dir, pattern, limit: 1000, ignore: true, timeoutMs: 10_000, backend: 'node' });
      const viaRg = await search({ dir, pattern, limit: 1000, ignore: true, timeoutMs: 10_000, backend: 'ripgrep' });
      assert.deepEqual(asLines(viaNode.matches), asLines(viaRg.matches), pattern);
      assert.deepEqual(asLines(viaNode.matches), rgDirect(dir, pattern), pattern);
    }
    const f1 = await find({ dir, name: '*.ts', limit: 1000, ignore: true, timeoutMs: 10_000, backend: 'node' });
    const f2 = await find({ dir, name: '*.ts', limit: 1000, ignore: true, timeoutMs: 10_000, backend: 'ripgrep' });
    assert.deepEqual(f1, f2);
  });

  it('GET /files/find lists names matching a glob, honouring .gitignore', async () => {
    const dir = tree();
    const s = await startTestServer({ filesRoots: [dir] });
    const files = s.client.files;
    try {
      const r = await files.find(dir, '*.ts');
      assert.deepEqual(r, { paths: ['.hidden/h.ts', 'src/a.ts', 'src/deep/c.ts'].map((p) => join(dir, p)), truncated: false });
      const all = await files.find(dir, '*.ts', { ignore: false });
      assert.ok(all.paths.includes(join(dir, 'build/out.ts')) && all.paths.includes(join(dir, 'src/secret.ts')));
      assert.equal((await failure(files.find(dir, 'a/b'))).status, 400);
    } finally {
      await s.close();
    }
  });
});
