// A picture of the command palette with the extension's commands, for a person to look at:
//   node --import tsx scripts/screenshot-palette.ts [out.png]     (default: $TMPDIR/agent-runtime-palette.png)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tempDir } from '../test/helpers/server';
import { freePort, screenshotPalette } from '../test/vscode/run-in-vscode';
import { packageVsix } from '../test/helpers/vsix';

async function main() {
  const out = resolve(process.argv[2] ?? join(tmpdir(), 'agent-runtime-palette.png'));
  const vsix = packageVsix();
  const workspace = tempDir('ar-vscode-ws-');
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'agentRuntime.port': await freePort() }));
  try {
    await screenshotPalette({ vsix: vsix.file, workspace, filter: 'Agent Runtime', outPng: out });
    console.log(out);
  } finally {
    vsix.cleanup();
    rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
