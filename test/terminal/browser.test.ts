// The web terminal in a real headless chromium (Debian's, installed by scripts/setup-browser.sh):
// key dialog, ticket, typing, and a dropped connection that reconnects by itself and replays the screen.
// The connection is dropped for real: the page talks to the server through a TCP relay that the test cuts.
// If chromium is missing this test fails; it never skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/chromium';
import { KEY, startServer, waitUntil, type TestServer } from './helpers';

/** A TCP relay to the server whose connections the test can cut, as a network failure would. */
class Relay {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: number) {
    this.server = net.createServer((inbound) => {
      const outbound = net.connect(this.target, '127.0.0.1');
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let srv: TestServer;
let relay: Relay;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup-browser.sh`);
  if (!existsSync(join(__dirname, '../../dist/media/terminal.js'))) {
    const built = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: join(__dirname, '../..'), stdio: 'inherit' });
    assert.equal(built.status, 0, 'building the web terminal failed');
  }
  srv = await startServer({ reconnectGraceMs: 60_000 });
  relay = new Relay(srv.port);
  await relay.listen();
  // launch() starts chromium on a fresh temporary profile of its own, removed when it closes.
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await relay?.close();
  await srv?.close();
});

async function screenText(page: Page): Promise<string> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('.xterm-rows > div'))
      .map((row) => row.textContent ?? '')
      .join('\n'),
  );
}

async function waitForScreen(page: Page, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  let last = '';
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    last = await screenText(page);
    if (pattern.test(last)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`screen never matched ${pattern}; it shows:\n${last}`);
}

async function waitForStatus(page: Page, status: string): Promise<void> {
  await page.waitForFunction((s) => document.body.dataset.status === s, status, { timeout: 20_000 });
}

test('the page asks for the key, connects, runs a command, and resumes its session after a drop', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`http://127.0.0.1:${relay.port}/terminal`);
    await waitForStatus(page, 'key');
    await page.fill('#key-input', KEY);
    await page.click('#key-submit');
    await waitForStatus(page, 'connected');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('agent-runtime.terminal.key')), KEY);
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing is kept beyond the tab');

    await page.click('.xterm');
    await page.keyboard.type('echo $((6*7)); echo marker-$((1+1))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /marker-2/);
    assert.match(await screenText(page), /^42\s*$/m);
    const sessionId = await page.evaluate(() => document.body.dataset.session);
    assert.ok(sessionId);

    // The page fitted the terminal to its window and told the server.
    const [info] = srv.service.list();
    const cols = await page.evaluate(() => Number(document.querySelector('.xterm')?.getAttribute('data-cols') ?? 0));
    assert.ok(info.cols > 80 && info.rows > 24, `fitted size reached the server: ${info.cols}x${info.rows} (${cols})`);

    relay.cutAll();
    await waitForStatus(page, 'reconnecting');
    await waitForStatus(page, 'connected');
    assert.equal(await page.evaluate(() => document.body.dataset.session), sessionId, 'the same session was resumed');
    // The terminal was reset on reconnect, so what shows now is the server's replay of the screen.
    await waitForScreen(page, /marker-2/);
    assert.match(await screenText(page), /^42\s*$/m);
    assert.equal(srv.service.sessionCount(), 1);

    await page.keyboard.type('echo after-$((2+3))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /after-5/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
  // The page went away without a clean close: the session waits for a reconnect instead of ending.
  await waitUntil(
    () => srv.service.list()[0]?.clients === 0,
    10_000,
    () => 'client never detached',
  );
  assert.equal(srv.service.sessionCount(), 1);
});

test('a wrong key is refused and asked for again', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${relay.port}/terminal`);
    await waitForStatus(page, 'key');
    await page.fill('#key-input', 'not-the-key');
    await page.click('#key-submit');
    await page.waitForFunction(() => !document.getElementById('key-error')?.hidden, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('agent-runtime.terminal.key')), null);
  } finally {
    await context.close();
  }
});

test("a command in the page's link is shown and runs only when the person allows it", async () => {
  for (const allow of [false, true]) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
    const page = await context.newPage();
    try {
      const before = new Set(srv.service.list().map((s) => s.id));
      await page.goto(`http://127.0.0.1:${relay.port}/terminal?command=${encodeURIComponent('echo linked-$((6*7))')}`);
      await waitForStatus(page, 'confirm');
      assert.equal(await page.textContent('#command-text'), 'echo linked-$((6*7))');
      assert.deepEqual(
        srv.service.list().filter((s) => !before.has(s.id)),
        [],
        'no session opened before the person chose',
      );
      await page.click(allow ? '#command-run' : '#command-skip');
      assert.doesNotMatch(page.url(), /command=/, 'the command is dropped from the address bar');
      await waitForStatus(page, 'key');
      await page.fill('#key-input', KEY);
      await page.click('#key-submit');
      await waitForStatus(page, 'connected');
      const opened = srv.service.list().filter((s) => !before.has(s.id));
      assert.equal(opened.length, 1);
      assert.equal(opened[0].command, allow ? 'echo linked-$((6*7))' : null);
      if (allow) {
        await waitForScreen(page, /^linked-42\s*$/m);
      } else {
        // The server types a command within a second of the prompt; after that, nothing linked shows.
        await new Promise((r) => setTimeout(r, 1500));
        await page.click('.xterm');
        await page.keyboard.type('echo typed-$((1+1))');
        await page.keyboard.press('Enter');
        await waitForScreen(page, /typed-2/);
        assert.doesNotMatch(await screenText(page), /linked/);
      }
      await srv.service.endSession(opened[0].id);
    } finally {
      await context.close();
    }
  }
});
