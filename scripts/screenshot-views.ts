// The README's picture of the Agent Runtime container, taken in the real VS Code (code-server, headless
// chromium) with the packaged extension installed and a little work going on (jobs, an ACP agent asking
// for a permission, a terminal session, a persistent shell), for a person to check by eye:
//   node --import tsx scripts/screenshot-views.ts [out-dir]     (default: media/)
// writes screenshot-views.png.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { generateKey } from '../src/server/auth';
import { script, scriptedAgent } from '../test/acp/helpers';
import { tempDir } from '../test/helpers/server';
import { packageVsix } from '../test/helpers/vsix';
import { freePort, withEditorPage } from '../test/vscode/run-in-vscode';

const VIEWPORT = { width: 1280, height: 820 };

async function main() {
  const outDir = resolve(process.argv[2] ?? join(__dirname, '..', 'media'));
  mkdirSync(outDir, { recursive: true });
  const vsix = packageVsix();
  const root = tempDir('ar-shots-');
  const workspace = join(root, 'my-service');
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  mkdirSync(join(workspace, 'src'));
  writeFileSync(join(workspace, 'src', 'server.ts'), 'export const port = 8080;\n');
  const port = await freePort();
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'agentRuntime.port': port, 'workbench.startupEditor': 'none' }));
  // The scripted test agent (on the official ACP SDK) under a short name, as a real agent's would show.
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'demo-agent'),
    `#!/bin/sh\nexec ${scriptedAgent()
      .map((a) => JSON.stringify(a))
      .join(' ')} "$@"\n`,
  );
  chmodSync(join(bin, 'demo-agent'), 0o755);
  const key = generateKey();
  const url = `http://127.0.0.1:${port}`;
  const exec = async (body: Record<string, unknown>) => {
    const res = await fetch(`${url}/exec`, { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 202) throw new Error(`POST /exec: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { jobId: string }).jobId;
  };
  let terminal: WebSocket | undefined;
  try {
    await withEditorPage({ vsix: vsix.file, workspace, viewport: VIEWPORT, env: { AGENT_RUNTIME_API_KEY: key } }, async (page) => {
      const item = page.locator('.statusbar-item', { hasText: `Agent Runtime :${port}` });
      await item.waitFor({ state: 'visible', timeout: 60_000 });

      const agentEnv = { PATH: `${bin}:${process.env.PATH}`, TEST_AGENT_STATE_DIR: join(root, 'agent-state') };
      await exec({ command: 'ls src', workdir: workspace });
      await exec({ command: 'npm run lint', workdir: workspace });
      await exec({
        mode: 'acp',
        agent: 'demo-agent',
        workdir: workspace,
        env: agentEnv,
        prompt: script({ think: 'Reading the server.' }, { say: 'The port comes from src/server.ts.' }),
      });
      await exec({ mode: 'persistent_shell', shell: 'bash', sessionKey: 'build', workdir: workspace, command: 'export NODE_ENV=test' });
      await new Promise((r) => setTimeout(r, 2500));
      await exec({ command: 'while true; do date; sleep 5; done', workdir: workspace });
      const edit = { toolCallId: 'edit-1', title: 'Edit src/server.ts', kind: 'edit', locations: [{ path: join(workspace, 'src', 'server.ts') }] };
      const diff = {
        ...edit,
        status: 'pending',
        content: [
          {
            type: 'diff',
            path: join(workspace, 'src', 'server.ts'),
            oldText: 'export const port = 8080;',
            newText: 'export const port = Number(process.env.PORT ?? 8080);',
          },
        ],
      };
      await exec({
        mode: 'acp',
        agent: 'demo-agent',
        workdir: workspace,
        env: agentEnv,
        policy: 'ask',
        prompt: script({ say: 'I will read the port from the environment.' }, { tool: diff }, { permission: { toolCall: edit } }),
      });
      terminal = new WebSocket(`${url.replace('http', 'ws')}/terminal/ws?workdir=${encodeURIComponent(workspace)}`, { headers: { 'X-API-Key': key } });

      await item.click(); // opens the container
      // The Agents view's row (the Jobs view shows the same job).
      const asking = page.locator('[id="workbench.view.extension.agentRuntime"] .monaco-list-row', { hasText: 'asks: Edit src/server.ts' }).last();
      await asking.waitFor({ state: 'visible', timeout: 30_000 }).catch(async (err) => {
        await page.screenshot({ path: join(outDir, 'screenshot-views-failed.png') });
        throw err;
      });
      // Room for the rows' descriptions: the chat panel closed, the side bar wider.
      await page.keyboard.press('Control+Alt+B').catch(() => undefined);
      const sash = (await page.locator('.part.sidebar').boundingBox())!;
      await page.mouse.move(sash.x + sash.width + 1, sash.y + 200);
      await page.mouse.down();
      await page.mouse.move(sash.x + 520, sash.y + 200, { steps: 5 });
      await page.mouse.up();
      const shells = page.locator('.pane-header', { hasText: 'Shells' });
      if ((await shells.getAttribute('aria-expanded')) === 'false') await shells.click();
      await asking.click(); // selects it (its inline actions show) and opens the transcript
      await page.waitForSelector('.monaco-editor .view-lines', { state: 'visible', timeout: 10_000 });
      await page.waitForTimeout(2500);
      await asking.hover();
      await page.waitForTimeout(800);
      await page.screenshot({ path: join(outDir, 'screenshot-views.png') });
    });
    console.log(outDir);
  } finally {
    terminal?.close();
    vsix.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
