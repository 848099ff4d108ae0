// The npm package as a user gets it: packed from a fresh copy of this checkout (so `prepack` builds it, and
// the repository's own dist/ is neither used nor rewritten under the tests that run beside this one), then
// installed into an empty folder with no compiler reachable. Shared by test/package and the package bench.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
/** npm's cache, kept between runs (tests run with an empty HOME, which would make every install download again). */
export const NPM_CACHE = join(ROOT, 'node_modules/.cache/agent-runtime-package-npm');
/** What a machine with no build tools would lack: each is a stub that records the call and fails. */
const BUILD_TOOLS = ['node-gyp', 'cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'gmake', 'python', 'python3'];
/** All the installed package needs: node, the shell npm runs scripts with, and `env` for the CLI's shebang. */
const RUN_TOOLS = ['sh', 'bash', 'env'];
/** Variables that reach the registry through this machine's network (a proxy, a company CA). */
const PASSED_THROUGH = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'NODE_EXTRA_CA_CERTS'];

/** Where `name` is on this process's PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** npm's own script, run with this Node (so a PATH without npm on it still runs npm). */
export const NPM_CLI = realpathSync(which('npm') ?? missing('npm is not on PATH'));

function missing(message: string): never {
  throw new Error(message);
}

/** This environment without the npm settings a parent npm (`npm test`) passes down, plus ours. */
export function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'NODE_PATH'));
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_cache: NPM_CACHE, ...extra };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** npm with these arguments; resolves with what it printed, whatever its exit (async: the event loop stays free). */
export function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [NPM_CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

export function mustSucceed(what: string, r: Run): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A copy of this checkout as a clone would have it: no node_modules (linked to this one's, for the build
 * tools), no dist/, no git data, no local caches.
 */
export function freshCheckout(dir: string): string {
  const skip = new Set(['node_modules', 'dist', '.git', '.cache', '.test-tmp', 'coverage']);
  cpSync(ROOT, dir, {
    recursive: true,
    filter: (src) => {
      const rel = src.slice(ROOT.length + 1);
      return rel === '' || (!skip.has(rel.split(/[\\/]/)[0]!) && !rel.endsWith('.vsix'));
    },
  });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

export interface PackedFile {
  path: string;
  size: number;
}

export interface Packed {
  tarball: string;
  name: string;
  version: string;
  /** Bytes of the .tgz, and of its files unpacked, as npm reports them. */
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

/** `npm pack` in `checkout` (its `prepack` builds), the tarball written to `dest`. */
export async function pack(checkout: string, dest: string): Promise<Packed> {
  const out = mustSucceed('npm pack', await npm(['pack', '--json', '--pack-destination', dest], checkout, npmEnv()));
  const [info] = JSON.parse(out) as [Omit<Packed, 'tarball'> & { filename: string }];
  return { ...info, tarball: join(dest, info.filename) };
}

/**
 * A bin folder for a machine with Node and no build tools: node, sh, bash and env, and in place of every
 * compiler, make, python and node-gyp a stub that appends its name to `calls` and exits 1.
 */
export function noCompilerBin(dir: string, calls: string): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const tool of RUN_TOOLS) {
    const found = which(tool);
    if (found) symlinkSync(found, join(dir, tool));
  }
  const stub = join(dir, 'no-build-tools');
  writeFileSync(stub, `#!/bin/sh\necho "$(basename "$0") $*" >> '${calls}'\necho "$(basename "$0"): there is no compiler on this machine" >&2\nexit 1\n`);
  chmodSync(stub, 0o755);
  for (const tool of BUILD_TOOLS) symlinkSync(stub, join(dir, tool));
  return dir;
}

export interface Installed {
  /** The empty folder the tarball was installed into. */
  app: string;
  /** The installed package's folder and its `agent-server` bin, as npm linked it. */
  packageDir: string;
  bin: string;
  /** What npm printed. */
  output: string;
  /** Build tools something tried to run (one line each); empty when nothing tried to compile. */
  buildCalls(): string;
}

/**
 * Installs `tarball` into `<work>/app` (empty but for a package.json that makes it npm's prefix) with
 * `--omit=dev`, from the registry npm is configured with, under an environment with no build tools: PATH is
 * only the stub folder, and npm's node-gyp, CC, CXX and PYTHON (node-gyp's) point at the failing stub.
 */
export async function installWithoutCompiler(tarball: string, work: string): Promise<Installed> {
  const calls = join(work, 'build-tool-calls');
  const bin = noCompilerBin(join(work, 'no-compiler-bin'), calls);
  const stub = join(bin, 'no-build-tools');
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', private: true }));
  const home = join(work, 'home');
  mkdirSync(home);
  const registry = spawnSync(process.execPath, [NPM_CLI, 'config', 'get', 'registry'], { env: npmEnv(), encoding: 'utf8' }).stdout.trim();
  // A clean environment, not this one minus some names: whatever is not set here is not there.
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    PATH: bin,
    TMPDIR: process.env.TMPDIR ?? '/tmp',
    npm_config_registry: registry || 'https://registry.npmjs.org/',
    npm_config_cache: NPM_CACHE,
    npm_config_update_notifier: 'false',
    npm_config_node_gyp: join(bin, 'node-gyp'),
    CC: stub,
    CXX: stub,
    PYTHON: stub,
    // The way to the registry, where this machine needs one.
    ...Object.fromEntries(PASSED_THROUGH.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
  };
  const args = ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball];
  const r = await npm(args, app, env);
  mustSucceed(`npm ${args.join(' ')} (no compiler on PATH)`, r);
  const deps: Record<string, string> = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).dependencies;
  const packageName = Object.keys(deps).find((n) => deps[n]!.startsWith('file:')) ?? missing(`the tarball is not a dependency: ${JSON.stringify(deps)}`);
  return {
    app,
    packageDir: join(app, 'node_modules', packageName),
    bin: join(app, 'node_modules', '.bin', 'agent-server'),
    output: r.stdout + r.stderr,
    buildCalls: () => (existsSync(calls) ? readFileSync(calls, 'utf8') : ''),
  };
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** What it printed so far (stdout and stderr). */
  log(): string;
  /** Stops it by its pid (SIGTERM) and resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts an `agent-server` executable (as installed: through its shebang) and resolves once it listens. */
export async function startAgentServer(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<RunningServer> {
  const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`agent-server did not listen within 60 s:\n${log}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        ready(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`agent-server exited (${code}) before listening:\n${log}`));
    });
  });
  return {
    url,
    child,
    log: () => log,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      return exited;
    },
  };
}

/**
 * The export names of `specifier` as a user's code in `app` gets them: `import()` or `require()` in a Node of
 * its own (no tsx, no NODE_PATH), a JSON entry imported with its `type` attribute.
 */
export function loadEntry(app: string, specifier: string, how: 'import' | 'require', json = false): string[] {
  const s = JSON.stringify(specifier);
  const code =
    how === 'import'
      ? `import(${s}${json ? ", { with: { type: 'json' } }" : ''}).then((m) => console.log(JSON.stringify(Object.keys(m))))`
      : `console.log(JSON.stringify(Object.keys(require(${s}))))`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: app, env: npmEnv(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${how} ${specifier} from ${app} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}
