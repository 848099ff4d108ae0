// --files-root confinement against symlinks swapped in between check and use (CONTRACT §8): another
// process flips a path between a real folder inside the root and a symlink to a folder outside, as fast
// as it can, while the API reads, writes, lists and deletes through that path. Nothing outside may be
// read, written, listed or deleted, and the test checks the race was really run (both outcomes seen).
// Raw HTTP on purpose: the status each racing request gets (200, 403, 404, 409) is what is checked.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, tempDir, type TestServer } from '../helpers/server';
import { q, raw } from './helpers';

const ROUNDS = 300;

describe('files: confinement against symlink swaps', () => {
  let s: TestServer;
  let root: string;
  let outside: string;
  let swapper: ChildProcess;
  before(async () => {
    root = tempDir('ar-root-');
    outside = tempDir('ar-outside-');
    writeFileSync(join(outside, 'secret.txt'), 'OUTSIDE');
    writeFileSync(join(outside, 'victim.txt'), 'keep me');
    writeFileSync(join(outside, 'only-outside.txt'), '');
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real', 'secret.txt'), 'inside');
    writeFileSync(join(root, 'real', 'victim.txt'), 'inside victim');
    s = await startTestServer({ filesRoots: [root] });
    // Flips `root/sw` between the folder `real` and a symlink to `outside`, each by an atomic rename.
    const script = `
      const fs = require('fs'); const p = require('path');
      const root = ${JSON.stringify(root)}, outside = ${JSON.stringify(outside)};
      fs.symlinkSync(outside, p.join(root, 'link'));
      for (;;) {
        fs.renameSync(p.join(root, 'real'), p.join(root, 'sw')); fs.renameSync(p.join(root, 'sw'), p.join(root, 'real'));
        fs.renameSync(p.join(root, 'link'), p.join(root, 'sw')); fs.renameSync(p.join(root, 'sw'), p.join(root, 'link'));
      }`;
    swapper = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
  });
  after(async () => {
    swapper.kill('SIGKILL');
    await s.close();
  });

  it(`reads, writes, lists, searches, finds and deletes nothing outside in ${ROUNDS} rounds`, async () => {
    let escapes = 0;
    let insideReads = 0;
    let refused = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const read = await raw(s.url, s.key, 'GET', `/files/content?path=${q(join(root, 'sw', 'secret.txt'))}`);
      if (read.status === 200 && read.body.toString() === 'OUTSIDE') escapes++;
      if (read.status === 200 && read.body.toString() === 'inside') insideReads++;
      if (read.status === 403) refused++;
      assert.ok([200, 403, 404, 409].includes(read.status), `read: ${read.status} ${read.body}`);

      const write = await raw(s.url, s.key, 'PUT', `/files/content?path=${q(join(root, 'sw', `w${i}.txt`))}`, 'x');
      assert.ok([200, 201, 403, 404, 409].includes(write.status), `write: ${write.status} ${write.body}`);

      const list = await s.call('GET', `/files/list?path=${q(join(root, 'sw'))}`);
      if (list.status === 200 && list.body.entries.some((e: { name: string }) => e.name === 'only-outside.txt')) escapes++;
      assert.ok([200, 400, 403, 404, 409].includes(list.status), `list: ${list.status} ${JSON.stringify(list.body)}`);

      const found = await s.call('GET', `/files/search?path=${q(join(root, 'sw'))}&pattern=OUTSIDE`);
      assert.ok([200, 400, 403, 404, 409].includes(found.status), `search: ${found.status} ${JSON.stringify(found.body)}`);
      if (found.status === 200 && found.body.matches.length > 0) escapes++;
      const named = await s.call('GET', `/files/find?path=${q(join(root, 'sw'))}&name=only-outside.txt`);
      assert.ok([200, 400, 403, 404, 409].includes(named.status), `find: ${named.status} ${JSON.stringify(named.body)}`);
      if (named.status === 200 && named.body.paths.length > 0) escapes++;

      const del = await s.call('DELETE', `/files?path=${q(join(root, 'sw', 'victim.txt'))}`);
      assert.ok([200, 403, 404, 409].includes(del.status), `delete: ${del.status} ${JSON.stringify(del.body)}`);
    }
    const written = readdirSync(outside).filter((n) => n.startsWith('w') || n.includes('.upload'));
    assert.deepEqual(written, [], 'nothing was written outside');
    assert.ok(existsSync(join(outside, 'victim.txt')), 'nothing was deleted outside');
    assert.equal(escapes, 0, 'nothing was read outside');
    assert.ok(insideReads > 0 && refused > 0, `the race ran both ways (inside reads ${insideReads}, refused ${refused})`);
  });
});
