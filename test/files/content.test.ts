// The files API against real files over real HTTP: content both ways (ranges, validators, atomic replace),
// stat, list, mkdir, move, delete, and every fault a clear JSON error that leaves nothing behind.
// Calls go through the typed client (s.client.files) where they fit; headers, odd ranges, bodies the client
// would not send and requests without the key stay raw HTTP on purpose.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { chunked, startTestServer, tempDir, type TestServer } from '../helpers/server';
import { failure } from '../client/helpers';
import { q, raw } from './helpers';

describe('files: content and folders', () => {
  let s: TestServer;
  let root: string;
  before(async () => {
    root = tempDir('ar-files-');
    s = await startTestServer({ filesRoots: [root] });
  });
  after(() => s.close());

  it('uploads (201 new, 200 replaced), downloads with ETag, Last-Modified and ranges', async () => {
    const p = join(root, 'a.bin');
    const data = Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 251));
    const files = s.client.files;
    const up = await files.write(p, data);
    assert.equal(up.created, true, '201');
    assert.equal(up.size, data.length);
    assert.deepEqual(readFileSync(p), data);
    const again = await files.write(p, data.subarray(0, 10));
    assert.equal(again.created, false, '200');
    assert.notEqual(again.etag, up.etag);
    await files.write(p, data);

    assert.deepEqual(Buffer.from(await files.read(p)), data);
    // Raw: the headers are the wire's.
    const down = await raw(s.url, s.key, 'GET', `/files/content?path=${q(p)}`);
    assert.equal(down.status, 200);
    assert.deepEqual(down.body, data);
    assert.equal(down.headers['accept-ranges'], 'bytes');
    assert.equal(down.headers['content-type'], 'application/octet-stream');
    assert.ok(down.headers['last-modified']);
    const etag = down.headers.etag as string;
    assert.match(etag, /^".+"$/);

    const part = await files.download(p, { range: { start: 100, end: 199 } });
    assert.equal(part.status, 206);
    assert.equal(part.contentRange, `bytes 100-199/${data.length}`);
    assert.deepEqual(Buffer.from(await new Response(part.body).arrayBuffer()), data.subarray(100, 200));
    // Raw: a suffix range and one beyond the end are not what the client asks for.
    const tail = await raw(s.url, s.key, 'GET', `/files/content?path=${q(p)}`, undefined, { Range: 'bytes=-5' });
    assert.deepEqual(tail.body, data.subarray(-5));
    const beyond = await raw(s.url, s.key, 'GET', `/files/content?path=${q(p)}`, undefined, { Range: 'bytes=999999-' });
    assert.equal(beyond.status, 416);
    const same = await files.download(p, { ifNoneMatch: etag });
    assert.equal(same.status, 304);

    // If-Match: the current version passes, a stale one gets 412 and the file stays as it was.
    const stale = await failure(files.write(p, 'new', { ifMatch: '"stale"' }));
    assert.equal(stale.status, 412);
    assert.deepEqual(readFileSync(p), data);
    const ok = await files.write(p, 'new', { ifMatch: etag });
    assert.equal(ok.created, false, '200');
    assert.equal(readFileSync(p, 'utf8'), 'new');
    assert.deepEqual(readdirSync(root), ['a.bin'], 'no temporary file is left');
  });

  it('creates parents with mkdirs=true, else 404', async () => {
    const p = join(root, 'x/y/z.txt');
    const no = await failure(s.client.files.write(p, 'hi'));
    assert.equal(no.status, 404);
    assert.match(no.body.error, /mkdirs=true/);
    const yes = await s.client.files.write(p, 'hi', { mkdirs: true });
    assert.equal(yes.created, true, '201');
    assert.equal(readFileSync(p, 'utf8'), 'hi');
  });

  it('stat, list (paged, sorted by name), mkdir, move, delete', async () => {
    const files = s.client.files;
    const d = join(root, 'list');
    assert.deepEqual(await files.mkdir(d), { path: d, created: true }, '201');
    assert.equal((await failure(files.mkdir(d))).status, 409);
    assert.deepEqual(await files.mkdir(d, { parents: true }), { path: d, created: false }, '200');
    const names = ['b', 'a', 'd', 'c', 'e'];
    for (const n of names) writeFileSync(join(d, n), n.repeat(3));
    symlinkSync('a', join(d, 'link'));
    const st = await files.stat(join(d, 'a'));
    assert.deepEqual({ type: st.type, size: st.size }, { type: 'file', size: 3 });
    assert.equal((await files.stat(join(d, 'link'))).type, 'symlink');
    assert.equal((await files.stat(d)).type, 'directory');
    assert.equal((await files.stat(root)).type, 'directory', 'a root itself');

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await files.list(d, { limit: 2, cursor: cursor ?? undefined });
      seen.push(...page.entries.map((e) => e.name));
      cursor = page.cursor;
      pages++;
    } while (cursor !== null);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e', 'link']);
    assert.equal(pages, 3);

    assert.equal((await failure(files.move(join(d, 'a'), join(d, 'b')))).status, 409);
    await files.move(join(d, 'a'), join(d, 'b'), { overwrite: true });
    assert.equal(readFileSync(join(d, 'b'), 'utf8'), 'aaa');
    assert.equal(existsSync(join(d, 'a')), false);

    assert.equal((await failure(files.delete(d))).status, 409, 'a folder with contents needs recursive');
    assert.equal((await files.delete(join(d, 'c'))).deleted, true);
    assert.equal(existsSync(join(d, 'c')), false);
    assert.equal((await files.delete(d, { recursive: true })).deleted, true);
    assert.equal(existsSync(d), false);
  });

  it('answers each fault with a clear JSON error', async () => {
    // Raw: bad input the client would not send, and the exact status of each.
    const expect = async (r: Promise<{ status: number; body: any }>, status: number, pattern: RegExp) => {
      const a = await r;
      assert.equal(a.status, status, JSON.stringify(a.body));
      assert.match(a.body.error, pattern);
    };
    await expect(s.call('GET', `/files/content?path=${q(join(root, 'missing'))}`), 404, /no such/);
    await expect(s.call('GET', `/files/content?path=${q(root)}`), 400, /is a folder/);
    await expect(s.call('GET', `/files/stat?path=${q('/etc/passwd')}`), 403, /outside the files roots/);
    await expect(s.call('GET', `/files/content?path=${q(join(root, '..', 'x'))}`), 403, /outside/);
    await expect(s.call('GET', `/files/content?path=${q(join(root, 'n'.repeat(300)))}`), 400, /not a valid name/);
    await expect(s.call('PUT', `/files/content?path=${q(join(root, 'm'.repeat(300)))}`, 'x'), 400, /not a valid name/);
    await expect(s.call('GET', '/files/list'), 400, /path must be/);
    await expect(s.call('POST', '/files/move', { from: 1 }), 400, /from must be/);
    await expect(s.call('DELETE', `/files?path=${q(root)}&recursive=true`), 403, /files root/);
    // Without the key: 401 whatever the body.
    const noKey = await raw(s.url, null, 'PUT', `/files/content?path=${q(join(root, 'k'))}`, 'secret');
    assert.equal(noKey.status, 401);
    assert.equal(existsSync(join(root, 'k')), false);
  });

  it('permission denied is 403 and the file stays whole (an immutable file, which even root cannot replace)', async () => {
    const p = join(root, 'locked');
    writeFileSync(p, 'original');
    execFileSync('chattr', ['+i', p]);
    try {
      const r = await failure(s.client.files.write(p, 'changed'));
      assert.equal(r.status, 403, r.message);
      assert.match(r.body.error, /permission denied/);
      assert.equal(readFileSync(p, 'utf8'), 'original');
    } finally {
      execFileSync('chattr', ['-i', p]);
    }
    assert.deepEqual(
      readdirSync(root).filter((n) => n.includes('.upload')),
      [],
    );
  });

  it('a full disk is 507, the old file whole and no temporary file left', async () => {
    const small = join(root, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    try {
      writeFileSync(join(small, 'f'), 'old');
      const r = await failure(s.client.files.write(join(small, 'f'), Buffer.alloc(2 << 20, 7)));
      assert.equal(r.status, 507, r.message);
      assert.match(r.body.error, /no space/);
      assert.equal(readFileSync(join(small, 'f'), 'utf8'), 'old');
      assert.deepEqual(readdirSync(small), ['f']);
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('an upload cut off leaves the old file whole and no temporary file', async () => {
    const p = join(root, 'cut.txt');
    writeFileSync(p, 'whole');
    const u = new URL(s.url);
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        sock.write(`PUT /files/content?path=${q(p)} HTTP/1.1\r\nHost: ${u.host}\r\nX-API-Key: ${s.key}\r\nContent-Length: 1000000\r\n\r\n`);
        sock.write(Buffer.alloc(300000, 1), () => setTimeout(() => sock.destroy(), 300));
      });
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    // The server notices the cut and removes its temporary file.
    const deadline = Date.now() + 10_000;
    while (readdirSync(root).some((n) => n.includes('.upload')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      readdirSync(root).filter((n) => n.includes('cut')),
      ['cut.txt'],
    );
    assert.equal(readFileSync(p, 'utf8'), 'whole');
  });

  it('HEAD answers the headers alone', async () => {
    const p = join(root, 'head.txt');
    writeFileSync(p, 'twelve bytes');
    const r = await raw(s.url, s.key, 'HEAD', `/files/content?path=${q(p)}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '12');
    assert.equal(r.body.length, 0);
  });

  it('an upload over filesMaxUploadBytes is 413, declared or not, and leaves nothing behind', async () => {
    // Raw: a declared length and a chunked body are the cases.
    const dir = tempDir('ar-files-small-');
    const small = await startTestServer({ filesRoots: [dir], filesMaxUploadBytes: 4096 });
    try {
      const p = join(dir, 'f');
      writeFileSync(p, 'old');
      const declared = await raw(small.url, small.key, 'PUT', `/files/content?path=${q(p)}`, Buffer.alloc(5000));
      assert.equal(declared.status, 413);
      assert.match(declared.json().error, /filesMaxUploadBytes/);
      const streamed = await small.call('PUT', `/files/content?path=${q(p)}`, chunked('x'.repeat(5000)));
      assert.equal(streamed.status, 413, JSON.stringify(streamed.body));
      const fits = await raw(small.url, small.key, 'PUT', `/files/content?path=${q(p)}`, Buffer.alloc(4096, 1));
      assert.equal(fits.status, 200, 'a JSON body limit (maxBodyBytes) does not apply either way');
      assert.deepEqual(readdirSync(dir), ['f']);
    } finally {
      await small.close();
    }
  });

  it('is listed in /health with its capabilities and search backend', async () => {
    const h = await s.client.health();
    assert.deepEqual(h.files_roots, [root]);
    assert.equal(h.files_search, 'ripgrep');
    assert.ok(h.capabilities?.includes('files') && h.capabilities.includes('ports_expose'));
  });
});
