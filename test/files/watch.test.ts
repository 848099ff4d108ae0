// GET /files/watch: a real folder changed by this test, the events read from the real SSE stream through
// the typed client (s.client.files.watch).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchEvent } from '../../src/client';
import { startTestServer, tempDir, type TestServer } from '../helpers/server';
import { failure } from '../client/helpers';
import { q } from './helpers';

interface Sse {
  events: WatchEvent[];
  ended: Promise<void>;
  close(): void;
}

/** The watch through the client, its events gathered as they come. */
function openStream(s: TestServer, path: string, recursive = false): Sse {
  const abort = new AbortController();
  const events: WatchEvent[] = [];
  const ended = (async () => {
    try {
      for await (const e of s.client.files.watch(path, { recursive, signal: abort.signal })) events.push(e);
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
    const w = openStream(s, dir, true);
    try {
      await until(() => w.events.some((e) => e.event === 'ready'), 'ready');
      const pathOf = (e: WatchEvent) => (e.data as { path?: string } | null)?.path;
      const has = (event: string, path: string) => () => w.events.some((e) => e.event === event && pathOf(e) === path);
      const a = join(dir, 'a.txt');
      writeFileSync(a, 'one');
      await until(has('create', a), 'create');
      assert.deepEqual(
        w.events.find((e) => e.event === 'create' && pathOf(e) === a),
        { event: 'create', data: { path: a, type: 'file' } },
      );
      await new Promise((r) => setTimeout(r, 100));
      appendFileSync(a, 'two');
      await until(() => has('change', a)() || w.events.filter((e) => pathOf(e) === a).length > 1, 'change');
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
    const w = openStream(s, dir);
    try {
      await until(() => w.events.some((e) => e.event === 'ready'), 'ready');
      rmSync(dir, { recursive: true });
      await Promise.race([w.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the stream did not end')), 10_000))]);
      assert.ok(
        w.events.some((e) => e.event === 'delete' && e.data.path === dir),
        JSON.stringify(w.events),
      );
      assert.equal(w.events[w.events.length - 1].event, 'end');
      assert.match(await s.client.metrics(), /agent_runtime_file_watches 0/);
    } finally {
      w.close();
      await s.close();
    }
  });

  it('answers 404 for a missing folder and 400 for a file; the stream is text/event-stream', async () => {
    const dir = tempDir('ar-watch-');
    writeFileSync(join(dir, 'f'), '');
    const s = await startTestServer({ filesRoots: [dir] });
    try {
      assert.equal((await failure(s.client.files.watch(join(dir, 'nope')).next())).status, 404);
      assert.equal((await failure(s.client.files.watch(join(dir, 'f')).next())).status, 400);
      // Raw: the content type is the wire's.
      const abort = new AbortController();
      const res = await fetch(`${s.url}/files/watch?path=${q(dir)}`, { headers: { 'X-API-Key': s.key }, signal: abort.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      abort.abort();
    } finally {
      await s.close();
    }
  });
});
