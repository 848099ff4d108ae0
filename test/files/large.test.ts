// 1 GiB up and down through the real CLI process, its memory growing by at most 64 MiB (CONTRACT §9).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCli, tempDir } from '../helpers/server';
import { download, rssSampler, upload } from './transfer';

const GiB = 1 << 30;
const MAX_GROWTH = 64 << 20;

const sha = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];

describe('files: 1 GiB', () => {
  it('uploads and downloads 1 GiB with the server growing by at most 64 MiB', async () => {
    const dir = tempDir('ar-big-');
    const src = join(dir, 'src.bin');
    // Not all zeros: a file of one byte value could pass for another of the same size.
    execFileSync('sh', ['-c', `head -c ${GiB} /dev/urandom > '${src}'`]);
    const cli = await spawnCli(['--files-root', dir]);
    try {
      const rss = rssSampler(cli.child.pid!);
      const up = await upload(cli.url, cli.key, src, join(dir, 'up.bin'));
      assert.equal(up.status, 201, up.body);
      assert.equal(JSON.parse(up.body).size, GiB);
      const status = await download(cli.url, cli.key, join(dir, 'up.bin'), join(dir, 'down.bin'));
      assert.equal(status, 200);
      const growth = rss.stop() - rss.baseline;
      assert.equal(statSync(join(dir, 'down.bin')).size, GiB);
      const want = sha(src);
      assert.equal(sha(join(dir, 'up.bin')), want);
      assert.equal(sha(join(dir, 'down.bin')), want);
      assert.ok(growth <= MAX_GROWTH, `server RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
    } finally {
      await cli.stop();
    }
  });
});
