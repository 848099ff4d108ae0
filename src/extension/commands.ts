// The palette's commands (declared in package.json's `contributes.commands`). Each returns what it showed,
// so scripts and tests can use them without reading the screen.
import * as vscode from 'vscode';
import type { ServerController } from './controller';
import { showActions, standbyMessage } from './ui';

export function registerCommands(controller: ServerController, log: vscode.LogOutputChannel, settingsName: () => string): vscode.Disposable[] {
  // A command takes whatever its caller passes (a tree item, a URI, nothing).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const reg = (id: string, fn: (...args: any[]) => unknown) => vscode.commands.registerCommand(`agentRuntime.${id}`, fn);
  const tunnelUrl = () => controller.info().tunnelUrl;
  /** The URL served; in standby, the person is told which window serves instead. */
  const served = () => {
    const info = controller.info();
    if (info.state === 'standby') void vscode.window.showInformationMessage(standbyMessage(info));
    return info.url;
  };
  const fail = (what: string) => (err: Error) => {
    log.error(`${what}: ${err.message}`);
    void vscode.window.showErrorMessage(`Agent Runtime: ${what}: ${err.message}`);
  };

  return [
    reg('startServer', () => controller.start().then(served, fail('could not start the server'))),
    reg('stopServer', () => controller.stop()),
    reg('restartServer', () => controller.restart().then(served, fail('could not restart the server'))),
    reg('showApiKey', async () => {
      const key = await controller.key();
      // Not awaited: the command answers at once; the modal stays until the person closes it.
      vscode.window.showInformationMessage('Agent Runtime API key', { modal: true, detail: key }, 'Copy').then((c) => {
        if (c === 'Copy') void vscode.env.clipboard.writeText(key);
      }, ignore);
      return key;
    }),
    reg('copyApiKey', async () => {
      await vscode.env.clipboard.writeText(await controller.key());
      void vscode.window.showInformationMessage('Agent Runtime: API key copied.');
    }),
    reg('rotateApiKey', async (opts?: { confirm?: boolean }) => {
      if (opts?.confirm !== false) {
        const ok = await vscode.window.showWarningMessage(
          'Rotate the Agent Runtime API key?',
          { modal: true, detail: 'Clients using the current key will be refused until they get the new one.' },
          'Rotate',
        );
        if (ok !== 'Rotate') return undefined;
      }
      const key = await controller.rotateKey();
      log.info('API key rotated');
      return key;
    }),
    reg('showTunnelUrl', () => {
      const url = tunnelUrl();
      if (url) {
        vscode.window
          .showInformationMessage('Agent Runtime tunnel URL', { modal: true, detail: `${url}\nTerminal: ${controller.info().terminalUrl}` }, 'Copy')
          .then((c) => {
            if (c === 'Copy') void vscode.env.clipboard.writeText(url);
          }, ignore);
      } else {
        vscode.window.showInformationMessage('Agent Runtime: no tunnel is running.', 'Start Tunnel').then((c) => {
          if (c) void vscode.commands.executeCommand('agentRuntime.startTunnel');
        }, ignore);
      }
      return url;
    }),
    reg('copyTunnelUrl', async () => {
      const url = tunnelUrl();
      if (!url) return void vscode.window.showWarningMessage('Agent Runtime: no tunnel is running.');
      await vscode.env.clipboard.writeText(url);
      return url;
    }),
    reg('startTunnel', () =>
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Agent Runtime: starting the devtunnel…' }, () =>
        controller.startTunnel().then(() => {
          const url = tunnelUrl();
          if (url) void vscode.window.showInformationMessage(`Agent Runtime: tunnel up at ${url}`);
          return url;
        }, fail('could not start the tunnel')),
      ),
    ),
    reg('registerWithDashboard', async (opts?: { url?: string; name?: string }) => {
      const config = vscode.workspace.getConfiguration('agentRuntime');
      const url =
        opts?.url ??
        (await vscode.window.showInputBox({
          title: 'Dashboard URL',
          value: config.get<string>('register.url') || 'https://',
          ignoreFocusOut: true,
          validateInput: validUrl,
        }));
      if (!url) return;
      const name =
        opts?.name ?? (await vscode.window.showInputBox({ title: 'Name of this machine on the dashboard', value: settingsName(), ignoreFocusOut: true }));
      if (!name) return;
      await controller.register(url, name).catch(fail('could not register'));
    }),
    reg('openWebTerminal', async () => {
      const url = controller.info().url;
      if (!url) return void vscode.window.showWarningMessage('Agent Runtime: the server is not running.');
      // asExternalUri forwards the port when the extension runs on a remote machine. Some editors forward
      // only the origin and drop the path (code-server answers `…/proxy/PORT/` for any path), so the
      // server's root is forwarded and the page's path added to what comes back.
      const root = await vscode.env.asExternalUri(vscode.Uri.parse(`${url}/`));
      const page = new URL(root.toString(true)); // its query, if the editor adds one, stays
      page.pathname = `${page.pathname.replace(/\/$/, '')}/terminal`;
      const external = vscode.Uri.parse(page.href);
      await vscode.env.openExternal(external);
      return external.toString(true);
    }),
    reg('showLogs', () => log.show()),
    reg('showActions', () => showActions(controller.info())),
  ];
}

/** A dialog the editor refuses to show (as in tests) is no failure of the command that opened it. */
function ignore(): void {}

function validUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:' ? undefined : 'an http(s) URL';
  } catch {
    return 'an http(s) URL';
  }
}
