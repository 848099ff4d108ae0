// 1 GiB up and down through the real CLI process, its memory growing by at most 64 MiB (CONTRACT §9).
// The bytes go through the typed client's streams (files.write with a stream, files.download), so the
// client is held to streaming too: this process never holds the file either.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { spawnCli, tempDir } from '../helpers/server';
import { rssSampler } from './transfer';

const GiB = 1 << 30;
const MAX_GROWTH = 64 << 20;

/** Fails unless the two files hold the same bytes (cmp stops at the first difference; no hashing). */
const sameBytes = (a: string, b: string) => assert.equal(spawnSync('cmp', ['-s', a, b]).status, 0, `${b} differs from ${a}`);

describe('files: 1 GiB', () => {
  it('uploads and downloads 1 GiB with the server growing by at most 64 MiB', async () => {
    const dir = tempDir('ar-big-');
    const src = join(dir, 'src.bin');
    // Not all zeros: a file of one byte value could pass for another of the same size.
    execFileSync('sh', ['-c', `head -c ${GiB} /dev/urandom > '${src}'`]);
    const cli = await spawnCli(['--files-root', dir]);
    try {
      const rss = rssSampler(cli.child.pid!);
      const files = cli.client.files;
      const up = await files.write(join(dir, 'up.bin'), Readable.toWeb(createReadStream(src, { highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>);
      assert.equal(up.created, true, '201');
      assert.equal(up.size, GiB);
      const down = await files.download(join(dir, 'up.bin'));
      assert.equal(down.status, 200);
      await pipeline(Readable.fromWeb(down.body! as never), createWriteStream(join(dir, 'down.bin'), { highWaterMark: 1 << 20 }));
      const growth = rss.stop() - rss.baseline;
      assert.equal(statSync(join(dir, 'down.bin')).size, GiB);
      sameBytes(src, join(dir, 'up.bin'));
      sameBytes(src, join(dir, 'down.bin'));
      assert.ok(growth <= MAX_GROWTH, `server RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
    } finally {
      await cli.stop();
    }
  });
});
