// GET /files/watch: a real folder changed by this test, the events read from the real SSE stream.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, tempDir } from '../helpers/server';
import { q } from './helpers';

interface Sse {
  events: { event: string; data: any }[];
  ended: Promise<void>;
  close(): void;
}

async function openStream(url: string, key: string, path: string): Promise<Sse> {
  const abort = new AbortController();
  const res = await fetch(url + path, { headers: { 'X-API-Key': key }, signal: abort.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: Sse['events'] = [];
  const ended = (async () => {
    let buf = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return { events, ended, close: () => abort.abort() };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('files: watch', () => {
  it('streams create, change, delete and a rename (delete + create)', async () => {
    const dir = tempDir('ar-watch-');
    const s = await startTestServer({ filesRoots: [dir] });
    const w = await openStream(s.url, s.key, `/files/watch?path=${q(dir)}&recursive=true`);
    try {
      await until(() => w.events.some((e) => e.event === 'ready'), 'ready');
      const has = (event: string, path: string) => () => w.events.some((e) => e.event === event && e.data.path === path);
      const a = join(dir, 'a.txt');
      writeFileSync(a, 'one');
      await until(has('create', a), 'create');
      assert.equal(w.events.find((e) => e.event === 'create' && e.data.path === a)!.data.type, 'file');
      await new Promise((r) => setTimeout(r, 100));
      appendFileSync(a, 'two');
      await until(() => has('change', a)() || w.events.filter((e) => e.data.path === a).length > 1, 'change');
      const b = join(dir, 'b.txt');
      renameSync(a, b);
      await until(has('create', b), 'rename: create of the new name');
      await until(has('delete', a), 'rename: delete of the old name');
      mkdirSync(join(dir, 'sub'));
      // inotify watches a new folder only once it has seen it (docs/files.md): wait for that first.
      await until(has('create', join(dir, 'sub')), 'create of a subfolder');
      writeFileSync(join(dir, 'sub', 'deep.txt'), 'x');
      await until(has('create', join(dir, 'sub', 'deep.txt')), 'create in a subfolder (recursive)');
      unlinkSync(b);
      await until(has('delete', b), 'delete');
    } finally {
      w.close();
      await s.close();
    }
  });

  it('a deleted folder: an event, then the stream ends', async () => {
    const parent = tempDir('ar-watch-');
    const dir = join(parent, 'goes');
    mkdirSync(dir);
    const s = await startTestServer({ filesRoots: [parent] });
    const w = await openStream(s.url, s.key, `/files/watch?path=${q(dir)}`);
    try {
      await until(() => w.events.some((e) => e.event === 'ready'), 'ready');
      rmSync(dir, { recursive: true });
      await Promise.race([w.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the stream did not end')), 10_000))]);
      assert.ok(
        w.events.some((e) => e.event === 'delete' && e.data.path === dir),
        JSON.stringify(w.events),
      );
      assert.equal(w.events[w.events.length - 1].event, 'end');
      const h = await s.call('GET', '/metrics');
      assert.match(h.body, /agent_runtime_file_watches 0/);
    } finally {
      w.close();
      await s.close();
    }
  });

  it('answers 404 for a missing folder and 400 for a file', async () => {
    const dir = tempDir('ar-watch-');
    writeFileSync(join(dir, 'f'), '');
    const s = await startTestServer({ filesRoots: [dir] });
    try {
      assert.equal((await s.call('GET', `/files/watch?path=${q(join(dir, 'nope'))}`)).status, 404);
      assert.equal((await s.call('GET', `/files/watch?path=${q(join(dir, 'f'))}`)).status, 400);
    } finally {
      await s.close();
    }
  });
});
