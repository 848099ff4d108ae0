// The client's browser build (dist/client/index.mjs) in a real headless chromium: a page on the server's
// origin (its public `/health` page, with the bundle loaded into it by the test) runs exec, stream, a file
// round trip and a terminal through it, as a page served from the server's origin or through its tunnel
// would. The server sends no CORS headers, so a page of another origin cannot call it, which the last test
// shows. If chromium is missing this test fails; it never skips.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/chromium';
import { startTestServer, tempDir, type TestServer } from '../helpers/server';

const BUNDLE = join(__dirname, '../../dist/client/index.mjs');

let s: TestServer;
let browser: Browser;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup-browser.sh`);
  const built = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: join(__dirname, '../..'), stdio: 'inherit' });
  assert.equal(built.status, 0, 'the build failed');
  s = await startTestServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await s?.close();
});

/**
 * A page of `origin` (the server's `/health`, a public JSON page) with the client's bundle loaded into it by
 * the test, as `window.client` (the module's exports).
 */
async function pageAt(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/health`);
  await page.evaluate(
    async (code) => {
      const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
      (window as unknown as { client: unknown }).client = await import(url);
    },
    readFileSync(BUNDLE, 'utf8'),
  );
  return page;
}

type Module = typeof import('../../src/client');

describe('the client in a browser', () => {
  it('runs exec, stream, a file round trip and a terminal from a page on the server origin', async () => {
    const page = await pageAt(s.url);
    const path = join(tempDir('ar-client-browser-'), 'from-page.txt');
    const result = await page.evaluate(
      async ({ key, path }) => {
        const { AgentRuntimeClient } = (window as unknown as { client: Module }).client;
        const client = new AgentRuntimeClient({ url: location.origin, key });
        const { jobId } = await client.exec({ command: 'echo from-the-browser; echo oops >&2' });
        const events: string[] = [];
        let stdout = '';
        for await (const e of client.stream(jobId)) {
          events.push(e.event);
          if (e.event === 'stdout') stdout += e.data.text;
        }
        const written = await client.files.write(path, new Blob(['written by a page ✓']), { mkdirs: true });
        const text = await client.files.readText(path);
        const stat = await client.files.stat(path);
        let missing = '';
        await client.job('nope').catch((e: { name: string; status: number }) => (missing = `${e.name} ${e.status}`));

        // The browser's own WebSocket, through a one-time ticket.
        const t = client.terminal();
        let screen = '';
        t.on('data', (d: string) => (screen += d));
        await t.opened;
        t.write('echo "term=$((20+22))"\r');
        const deadline = Date.now() + 20_000;
        while (!screen.includes('term=42') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const closed = await t.close();
        return { events, stdout, written, text, size: stat.size, missing, terminal: screen.includes('term=42'), closeCode: closed.code };
      },
      { key: s.key, path },
    );
    assert.equal(result.stdout, 'from-the-browser\n');
    assert.deepEqual(
      result.events.filter((e) => e === 'end'),
      ['end'],
    );
    assert.ok(result.events.includes('stderr'));
    assert.equal(result.written.created, true);
    assert.equal(result.text, 'written by a page ✓');
    assert.equal(readFileSync(path, 'utf8'), 'written by a page ✓');
    assert.equal(result.size, Buffer.byteLength('written by a page ✓'));
    assert.equal(result.missing, 'AgentRuntimeError 404');
    assert.equal(result.terminal, true);
    assert.equal(result.closeCode, 1000);
    await page.close();
  });

  it('a page of another origin cannot call the server (no CORS): it must be served from the server origin', async () => {
    const other = s.url.replace('127.0.0.1', 'localhost');
    const page = await pageAt(other);
    const outcome = await page.evaluate(
      async ({ key, url }) => {
        const { AgentRuntimeClient } = (window as unknown as { client: Module }).client;
        return new AgentRuntimeClient({ url, key }).jobs().then(
          () => 'answered',
          (e: Error) => `${e.name}: ${e.message}`,
        );
      },
      { key: s.key, url: s.url },
    );
    assert.match(outcome, /TypeError: Failed to fetch/);
    await page.close();
  });
});
