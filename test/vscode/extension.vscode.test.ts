// The packaged extension (.vsix, as a person installs it) in a real VS Code (code-server + headless
// chromium): activation, the server answering with the key from SecretStorage, the palette commands, key
// rotation, a terminal on VS Code's own node-pty, stop, start and deactivate. The checks themselves are in
// suite/extension-suite.js, run in the extension host.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/server';
import { packageVsix } from '../helpers/vsix';
import { freePort, runInVsCode } from './run-in-vscode';

const ROOT = resolve(__dirname, '../..');

describe('the extension in a real VS Code', () => {
  it('installed from its .vsix: activates, serves, and answers its commands inside the extension host', async () => {
    const vsix = packageVsix();
    const workspace = tempDir('ar-vscode-ws-');
    try {
      mkdirSync(join(workspace, '.vscode'));
      writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'agentRuntime.port': await freePort() }));
      const { exitCode, log } = await runInVsCode({
        vsix: vsix.file,
        extensionTestsPath: join(ROOT, 'test/vscode/suite/extension-suite.js'),
        workspace,
        timeoutMs: 180_000,
      });
      assert.equal(exitCode, 0, `the suite failed; console:\n${log.join('\n')}`);
      assert.ok(log.some((l) => l.includes('[suite] all checks passed')), `the suite ran to its end; console:\n${log.join('\n')}`);
    } finally {
      vsix.cleanup();
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
