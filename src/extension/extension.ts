// Wires the core into the editor: the controller, the commands, the status bar, the settings, the logs.
// Everything disposable goes into context.subscriptions.
import { hostname } from 'node:os';
import * as vscode from 'vscode';
import type { Logger } from '../server/log';
import { registerCommands } from './commands';
import { ServerController, type KeyVault } from './controller';
import { vscodePtyLoader } from './pty';
import { readSettings, type ExtensionSettings } from './settings';
import { ActivityFeed } from './activity';
import { announcePermission, createStatusBar, renderStatus, showChallenge } from './ui';
import { registerViews, type ViewTrees } from './views';

const SECRET_KEY = 'agentRuntime.apiKey';

/** What other extensions (and the tests in a real VS Code) can use. */
export interface AgentRuntimeApi {
  controller: ServerController;
  /** What the views show (the tests read them to see what a person sees). */
  feed: ActivityFeed;
  views: ViewTrees;
}

let controller: ServerController | undefined;

/**
 * Cheap on purpose (bench/activation.bench.ts measures it in a real VS Code): everything here is
 * synchronous wiring, and the server starts after activation has returned, so the extension host never
 * waits on ports, the state dir or the secret store.
 */
export function activate(context: vscode.ExtensionContext): AgentRuntimeApi {
  const log = vscode.window.createOutputChannel('Agent Runtime', { log: true });
  const settings = () => readSettings((key, fallback) => vscode.workspace.getConfiguration('agentRuntime').get(key, fallback));
  const vault: KeyVault = {
    get: () => Promise.resolve(context.secrets.get(SECRET_KEY)),
    set: (key) => Promise.resolve(context.secrets.store(SECRET_KEY, key)),
    // Fires in every window: a key rotated in one reaches the server of whichever window serves.
    onDidChange: (listener) => context.secrets.onDidChange((e) => e.key === SECRET_KEY && listener()),
  };
  // The server makes its state dir (the global storage folder, which VS Code does not create) on start.
  controller = new ServerController(
    {
      stateDir: context.globalStorageUri.fsPath,
      logger: outputLogger(log),
      vault,
      ptyModule: vscodePtyLoader(vscode.env.appRoot, (m) => log.info(m)),
      onUpdateRequested: () => void vscode.commands.executeCommand('workbench.extensions.action.checkForUpdates'),
      askPermission: announcePermission,
    },
    settings(),
  );
  const c = controller;
  const feed = new ActivityFeed(c);
  const views = registerViews(c, feed);
  const status = createStatusBar();
  const render = () => renderStatus(status, c.info(), feed.counts());
  let shown: string | undefined;
  c.on('change', (info) => {
    render();
    // The views' welcome: Start and Settings while no server runs here, a word on the serving window in standby.
    if (info.state === shown) return;
    shown = info.state;
    void vscode.commands.executeCommand('setContext', 'agentRuntime.running', info.state === 'running');
    void vscode.commands.executeCommand('setContext', 'agentRuntime.standby', info.state === 'standby');
  });
  // Jobs and terminals come and go without the controller: the feed hears of them from the server.
  feed.on('jobs', render);
  feed.on('terminals', render);
  c.on('challenge', showChallenge);
  c.on('warning', (m: string) => void vscode.window.showWarningMessage(`Agent Runtime: ${m}`));
  render();

  context.subscriptions.push(
    log,
    status,
    ...registerCommands(c, log, () => settings().register.name || hostname()),
    ...views.disposables,
    { dispose: () => feed.dispose() },
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('agentRuntime')) void c.applySettings(settings()).catch((err: Error) => log.error(`settings: ${err.message}`));
    }),
    { dispose: () => void c.dispose() },
  );
  if (settings().autoStart) {
    setImmediate(() => {
      if (controller === c) void startOrExplain(c, settings(), log); // unless deactivated meanwhile
    });
  }
  return { controller: c, feed, views: views.trees };
}

export async function deactivate(): Promise<void> {
  await controller?.dispose();
  controller = undefined;
}

async function startOrExplain(c: ServerController, s: ExtensionSettings, log: vscode.LogOutputChannel): Promise<void> {
  try {
    await c.start();
  } catch (err) {
    log.error(`could not start on ${s.host}:${s.port}: ${(err as Error).message}`);
    void vscode.window.showErrorMessage(`Agent Runtime could not start on port ${s.port}: ${(err as Error).message}`, 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'agentRuntime');
    });
  }
}

function outputLogger(channel: vscode.LogOutputChannel): Logger {
  return {
    debug: (m) => channel.debug(m),
    info: (m) => channel.info(m),
    warn: (m) => channel.warn(m),
    error: (m) => channel.error(m),
  };
}
