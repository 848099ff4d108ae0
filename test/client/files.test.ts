// client.files against the real server and real files: content up and down as streams, ranges and
// versions, stat, list, mkdir, move, delete, search, find and watch.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AgentRuntimeClient, AgentRuntimeError, type WatchEvent } from '../../src/client';
import { startTestServer, tempDir, type TestServer } from '../helpers/server';
import { failure } from './helpers';

let s: TestServer;
let root: string;
let files: AgentRuntimeClient['files'];
before(async () => {
  root = tempDir('ar-client-files-');
  s = await startTestServer({ filesRoots: [root] });
  files = new AgentRuntimeClient({ url: s.url, key: s.key }).files;
});
after(() => s.close());

describe('client.files', () => {
  it('streams content up and down (8 MiB, never whole in one buffer on the way)', async () => {
    const p = join(root, 'big.bin');
    const chunk = Buffer.alloc(1 << 20);
    const hash = createHash('sha256');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 8) return controller.close();
        chunk.fill(sent++);
        hash.update(chunk);
        controller.enqueue(new Uint8Array(chunk));
      },
    });
    const written = await files.write(p, body);
    assert.equal(written.created, true);
    assert.equal(written.size, 8 << 20);
    const expected = hash.digest('hex');
    const down = await files.download(p);
    assert.equal(down.status, 200);
    assert.equal(down.length, 8 << 20);
    assert.equal(down.etag, written.etag);
    const got = createHash('sha256');
    for await (const part of Readable.fromWeb(down.body! as never)) got.update(part as Buffer);
    assert.equal(got.digest('hex'), expected);
  });

  it('reads ranges and versions; write with ifMatch refuses a stale version (412)', async () => {
    const p = join(root, 'a.txt');
    const first = await files.write(p, 'hello world');
    assert.equal(first.created, true);
    assert.equal(await files.readText(p), 'hello world');
    const part = await files.download(p, { range: { start: 6 } });
    assert.equal(part.status, 206);
    assert.equal(part.contentRange, 'bytes 6-10/11');
    assert.equal(await new Response(part.body).text(), 'world');
    assert.deepEqual(await files.read(p, { range: { start: 0, end: 4 } }), new TextEncoder().encode('hello'));
    const same = await files.download(p, { ifNoneMatch: first.etag });
    assert.equal(same.notModified, true);
    assert.equal(same.body, null);

    const replaced = await files.write(p, new TextEncoder().encode('v2'), { ifMatch: first.etag });
    assert.equal(replaced.created, false);
    const stale = await files.write(p, 'v3', { ifMatch: first.etag }).catch((e: unknown) => e);
    assert.ok(stale instanceof AgentRuntimeError);
    assert.equal(stale.status, 412);
    assert.equal(stale.body.etag, replaced.etag, 'the error carries the current version');
    assert.equal(readFileSync(p, 'utf8'), 'v2');
    const missing = await files.write(join(root, 'x/y/z.txt'), 'deep').catch((e: unknown) => e);
    assert.equal((missing as AgentRuntimeError).status, 404);
    assert.equal((await files.write(join(root, 'x/y/z.txt'), new Blob(['deep']), { mkdirs: true })).created, true);
  });

  it('stat, list (paged), mkdir, move, delete', async () => {
    const dir = join(root, 'tree');
    assert.deepEqual(await files.mkdir(dir), { path: dir, created: true });
    assert.equal((await files.mkdir(join(dir, 'p/q'), { parents: true })).created, true);
    for (const n of ['b', 'a', 'c']) writeFileSync(join(dir, n), n);
    const st = await files.stat(join(dir, 'a'));
    assert.equal(st.type, 'file');
    assert.equal(st.size, 1);
    const page1 = await files.list(dir, { limit: 2 });
    assert.deepEqual(
      page1.entries.map((e) => e.name),
      ['a', 'b'],
    );
    const page2 = await files.list(dir, { limit: 2, cursor: page1.cursor! });
    assert.deepEqual(
      page2.entries.map((e) => e.name),
      ['c', 'p'],
    );
    assert.equal(page2.cursor, null);
    assert.deepEqual(await files.move(join(dir, 'a'), join(dir, 'd')), { from: join(dir, 'a'), to: join(dir, 'd') });
    assert.equal((await failure(files.move(join(dir, 'b'), join(dir, 'd')))).status, 409);
    await files.move(join(dir, 'b'), join(dir, 'd'), { overwrite: true });
    assert.equal(readFileSync(join(dir, 'd'), 'utf8'), 'b');
    assert.equal((await failure(files.delete(dir))).status, 409);
    assert.deepEqual(await files.delete(dir, { recursive: true }), { path: dir, deleted: true, type: 'directory' });
    assert.equal((await failure(files.stat(dir))).status, 404);
  });

  it('search and find', async () => {
    const dir = join(root, 'code');
    await files.mkdir(dir);
    writeFileSync(join(dir, 'one.ts'), 'const x = 1;\nfunction needle() {}\n');
    writeFileSync(join(dir, 'two.md'), 'a needle here\n');
    const found = await files.search(dir, 'needle', { glob: '*.ts' });
    assert.deepEqual(found, { matches: [{ path: join(dir, 'one.ts'), line: 2, column: 10, text: 'function needle() {}' }], truncated: false });
    assert.equal((await files.search(dir, 'needle')).matches.length, 2);
    assert.deepEqual(await files.find(dir, '*.md'), { paths: [join(dir, 'two.md')], truncated: false });
    assert.equal((await failure(files.search(dir, '('))).status, 400);
  });

  it('watch yields ready, then changes, until the folder goes', async () => {
    const dir = join(root, 'watched');
    await files.mkdir(dir);
    const events: WatchEvent[] = [];
    for await (const e of files.watch(dir, { recursive: true, signal: AbortSignal.timeout(30_000) })) {
      events.push(e);
      if (e.event === 'ready') writeFileSync(join(dir, 'new.txt'), 'x');
      if (e.event === 'create' && e.data.path === join(dir, 'new.txt')) await files.delete(dir, { recursive: true });
    }
    assert.equal(events[0].event, 'ready', JSON.stringify(events));
    assert.ok(
      events.some((e) => e.event === 'create' && e.data.path === join(dir, 'new.txt')),
      JSON.stringify(events),
    );
    assert.equal(events.at(-1)!.event, 'end');
  });
});
