// The README's pictures of the extension, taken in the real VS Code (code-server, headless chromium) with
// the packaged extension installed, for a person to check by eye before committing them:
//   node --import tsx scripts/screenshot-palette.ts [out-dir]     (default: media/)
// writes screenshot-status-bar.png (the status bar item and its tooltip), screenshot-actions.png (the
// quick pick of Show Actions) and screenshot-palette.png (the palette filtered on "Agent Runtime"). The
// container's picture is scripts/screenshot-views.ts's.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { tempDir } from '../test/helpers/server';
import { freePort, withEditorPage } from '../test/vscode/run-in-vscode';
import { packageVsix } from '../test/helpers/vsix';

const VIEWPORT = { width: 1100, height: 900 };

/** The box of `selector` with a margin of the editor around it. */
async function around(page: Page, selector: string) {
  const box = (await page.locator(selector).boundingBox())!;
  const m = 12;
  return { x: Math.max(0, box.x - m), y: Math.max(0, box.y - m), width: box.width + 2 * m, height: box.height + 2 * m };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

async function main() {
  const outDir = resolve(process.argv[2] ?? join(__dirname, '..', 'media'));
  mkdirSync(outDir, { recursive: true });
  const vsix = packageVsix();
  // A folder with a name and a file or two, as a person's project looks.
  const workspace = join(tempDir('ar-shots-'), 'my-service');
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  const port = (await portFree(8585)) && (await portFree(8586)) ? 8585 : await freePort(); // the default, as people see it
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'agentRuntime.port': port, 'workbench.startupEditor': 'none' }));
  writeFileSync(join(workspace, 'README.md'), '# my-service\n');
  try {
    await withEditorPage({ vsix: vsix.file, workspace, viewport: VIEWPORT }, async (page) => {
      const item = page.locator('.statusbar-item', { hasText: `Agent Runtime :${port}` });
      await item.waitFor({ state: 'visible', timeout: 60_000 }); // activated, and the server running
      await page.waitForTimeout(1000);

      await item.hover();
      await page.waitForSelector('.monaco-hover, .workbench-hover', { state: 'visible', timeout: 10_000 });
      await page.waitForTimeout(500);
      const bar = { x: 0, y: VIEWPORT.height - 110, width: 520, height: 110 };
      await page.screenshot({ path: join(outDir, 'screenshot-status-bar.png'), clip: bar });
      await page.mouse.move(VIEWPORT.width / 2, VIEWPORT.height / 2);

      await page.keyboard.press('F1');
      await page.waitForSelector('.quick-input-widget', { state: 'visible', timeout: 10_000 });
      await page.keyboard.type('Agent Runtime');
      await page.waitForTimeout(1500);
      await page.screenshot({ path: join(outDir, 'screenshot-palette.png'), clip: await around(page, '.quick-input-widget') });
      await page.keyboard.press('Escape');

      // The status bar item opens the Agent Runtime container; the actions are a command of their own.
      await page.keyboard.press('F1');
      await page.waitForSelector('.quick-input-widget', { state: 'visible', timeout: 10_000 });
      await page.keyboard.type('Agent Runtime: Show Actions');
      await page.waitForTimeout(800);
      await page.keyboard.press('Enter');
      await page.waitForSelector('.quick-input-widget .quick-input-title', { state: 'visible', timeout: 10_000 });
      await page.waitForTimeout(800);
      await page.screenshot({ path: join(outDir, 'screenshot-actions.png'), clip: await around(page, '.quick-input-widget') });
    });
    console.log(outDir);
  } finally {
    vsix.cleanup();
    rmSync(resolve(workspace, '..'), { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
