// The packaged extension (.vsix, as a person installs it) in a real VS Code (code-server + headless
// chromium), on the newest VS Code and on the oldest that package.json's engines.vscode claims: activation,
// the server answering with the key from SecretStorage, the palette commands, key rotation, a terminal on
// VS Code's own node-pty, the web terminal through the editor's port forwarding, a tunnel, the Agent Runtime
// container's views and actions (suite/views-checks.js), stop, start and deactivate. The checks themselves are in suite/extension-suite.js, run in the extension host.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/server';
import { packageVsix, type PackagedVsix } from '../helpers/vsix';
import { scriptedAgent } from '../acp/helpers';
import { fakeDevtunnel } from '../reach/helpers';
import { freePort, OLDEST, runInVsCode, VSCODE_INSTALLS } from './run-in-vscode';

const ROOT = resolve(__dirname, '../..');

// The editors run side by side: each has its own code-server, browser, home, workspace and ports, and
// most of their time is spent waiting on one another's processes.
describe('the extension in a real VS Code', { concurrency: true }, () => {
  let vsix: PackagedVsix;
  before(() => {
    vsix = packageVsix();
  });
  after(() => vsix?.cleanup());

  it('claims as its oldest VS Code the oldest one tested here', () => {
    const claimed = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.vscode;
    assert.equal(claimed, `^${OLDEST.vscode}.0`);
  });

  // One editor while iterating: AR_VSCODE=1.139 (or 1.90) picks it; by default both run.
  for (const install of VSCODE_INSTALLS.filter((i) => !process.env.AR_VSCODE || i.vscode === process.env.AR_VSCODE)) {
    it(`${install.name}: installed from its .vsix, activates, serves, and answers its commands inside the extension host`, async () => {
      const workspace = tempDir('ar-vscode-ws-');
      // The devtunnel service is unreachable here: a stand-in CLI on PATH. VS Code gives its extension host
      // the environment of the user's login shell, so the stand-in goes on PATH where a person's devtunnel
      // does: in the login profile, of a home of its own.
      const devtunnel = fakeDevtunnel();
      const home = tempDir('ar-vscode-home-');
      try {
        const profile = `export PATH="${devtunnel.bin}:$PATH"\nexport FAKE_DT_DIR="${devtunnel.state}"\n`;
        for (const name of ['.profile', '.bash_profile']) writeFileSync(join(home, name), profile);
        mkdirSync(join(workspace, '.vscode'));
        writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'agentRuntime.port': await freePort() }));
        const { exitCode, log } = await runInVsCode({
          install,
          vsix: vsix.file,
          extensionTestsPath: join(ROOT, 'test/vscode/suite/extension-suite.js'),
          workspace,
          // The scripted ACP agent (on the official SDK), for the Agents view's Approve.
          env: { HOME: home, PATH: devtunnel.env.PATH, FAKE_DT_DIR: devtunnel.state, AR_TEST_AGENT: JSON.stringify(scriptedAgent()) },
          timeoutMs: 180_000,
        });
        assert.equal(exitCode, 0, `the suite failed; console:\n${log.join('\n')}`);
        assert.ok(
          log.some((l) => l.includes('[suite] all checks passed')),
          `the suite ran to its end; console:\n${log.join('\n')}`,
        );
        assert.ok(
          log.some((l) => l.includes('[suite] views checked')),
          `the views were checked; console:\n${log.join('\n')}`,
        );
        assert.ok(
          log.some((l) => l.includes(`[suite] VS Code ${install.vscode}.`)),
          `it ran in VS Code ${install.vscode}`,
        );
      } finally {
        devtunnel.cleanup();
        rmSync(home, { recursive: true, force: true });
        rmSync(workspace, { recursive: true, force: true });
      }
    });
  }
});
