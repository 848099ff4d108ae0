// Runs the real server as Windows runs it: the built `dist/cli.js` under the official Windows Node, in
// Wine, driven from this (Linux) Node over HTTP on loopback. scripts/windows-setup.sh installs and caches
// what this needs and writes the paths into the cache's `env` file; `npm run test:windows` runs it first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiFor, tempDir, type Api } from '../helpers/server';

export { tempDir };

export const REPO = resolve(__dirname, '../..');
export const KEY = 'wine-test-key-0123456789abcdefghijklmnop';

function cacheDir(): string {
  return process.env.AGENT_RUNTIME_WINDOWS_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'agent-runtime-windows');
}

function readSetup(): { WINE: string; WINESERVER: string; NODE_EXE: string; PREFIX_TEMPLATE: string } {
  const file = join(cacheDir(), 'env');
  if (!existsSync(file)) throw new Error(`no Windows setup at ${file}: run \`bash scripts/windows-setup.sh\` (npm run test:windows does)`);
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
  return Object.fromEntries(entries);
}

export const setup = readSetup();

/** This machine's path as a Windows program under Wine sees it (Wine maps `/` to drive Z:). */
export function winPath(linuxPath: string): string {
  return `Z:${resolve(linuxPath).replace(/\//g, '\\')}`;
}

/**
 * One Wine prefix (a Windows "machine") per test file, copied from the cached template. Its C: drive
 * holds %LOCALAPPDATA%; `shutdown` ends every process of it (the prefix's wineserver knows them all).
 */
export class WineMachine {
  readonly prefix: string;
  private readonly servers: WindowsServer[] = [];

  constructor() {
    this.prefix = join(tempDir('ar-wine-prefix-'), 'prefix');
    cpSync(setup.PREFIX_TEMPLATE, this.prefix, { recursive: true, verbatimSymlinks: true });
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, WINEPREFIX: this.prefix, WINEDEBUG: '-all', ...extra };
    // The Linux Node's own variables mean nothing to Windows Node (NODE_OPTIONS naming tsx, for one).
    delete env.NODE_OPTIONS;
    delete env.NODE_TEST_CONTEXT;
    return env;
  }

  /** The Linux path of this machine's `C:\users\<user>\AppData\Local`. */
  localAppData(): string {
    const users = join(this.prefix, 'drive_c', 'users');
    const user = readdirSync(users).find((u) => u !== 'Public')!;
    return join(users, user, 'AppData', 'Local');
  }

  /** The real CLI under Windows Node; resolves once it listens. */
  async startServer(args: string[] = [], opts: { env?: NodeJS.ProcessEnv; stateDir?: string | null } = {}): Promise<WindowsServer> {
    const stateDir = opts.stateDir === undefined ? tempDir('ar-win-state-') : opts.stateDir;
    const server = new WindowsServer(
      this,
      [...(stateDir ? ['--state-dir', winPath(stateDir)] : []), ...args],
      opts.env ?? { AGENT_RUNTIME_API_KEY: KEY },
      stateDir,
    );
    this.servers.push(server);
    await server.started;
    return server;
  }

  /** Ends every process of this prefix (servers, jobs, agents) and waits for them to go. */
  shutdown(): void {
    for (const s of this.servers) s.kill();
    spawnSync(setup.WINESERVER, ['-k'], { env: this.env(), stdio: 'ignore', timeout: 30_000 });
    spawnSync(setup.WINESERVER, ['-w'], { env: this.env(), stdio: 'ignore', timeout: 30_000 });
  }
}

export class WindowsServer implements Api {
  readonly child: ChildProcess;
  readonly started: Promise<void>;
  readonly exited: Promise<number | null>;
  private readonly logDir = tempDir('ar-wine-log-');
  url = '';
  key = KEY;
  call!: Api['call'];
  waitJob!: Api['waitJob'];
  run!: Api['run'];

  constructor(
    machine: WineMachine,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly stateDir: string | null,
  ) {
    const out = openSync(join(this.logDir, 'stdout'), 'w');
    const err = openSync(join(this.logDir, 'stderr'), 'w');
    const cli = winPath(join(REPO, 'dist', 'cli.js'));
    this.child = spawn(setup.WINE, [setup.NODE_EXE, cli, '--port', '0', '--terminal-port', '-1', ...args], {
      cwd: REPO,
      env: machine.env(env),
      stdio: ['ignore', out, err],
    });
    closeSync(out);
    closeSync(err);
    if (env.AGENT_RUNTIME_API_KEY) this.key = env.AGENT_RUNTIME_API_KEY;
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.started = this.waitListening();
  }

  stderr(): string {
    return readFileSync(join(this.logDir, 'stderr'), 'utf8');
  }

  /** Uses `key` from now on (a key the server generated). */
  useKey(key: string): void {
    this.key = key;
    Object.assign(this, apiFor(this.url, key));
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private async waitListening(): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const m = /listening on (http:\/\/\S+)/.exec(this.stderr());
      if (m) {
        this.url = m[1];
        Object.assign(this, apiFor(this.url, this.key));
        return;
      }
      if (exited) throw new Error(`the server under Wine exited: ${this.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the server under Wine did not start in 60 s: ${this.stderr()}`);
  }
}

/** Printed in the suite's output: what Wine cannot stand in for, and where that code is tested instead. */
export function notUnderWine(what: string, coveredBy: string): void {
  console.log(`# not under Wine: ${what} (covered by ${coveredBy})`);
}
