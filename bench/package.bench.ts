// What a user downloads and how soon it serves: the npm tarball (packed from a fresh copy of this checkout,
// as test/package does), its unpacked size and what an install of it takes on disk, the .vsix; then
// `agent-server` start-to-ready (spawn to the first 200 from GET /health, polled every 2 ms) for
//   - the baseline, in the same run: `node -e` starting a bare `http` server (Node's own start-up);
//   - the in-repo bundle, dist/cli.js (through its shebang, as installed);
//   - the tarball installed into an empty folder (node_modules/.bin/agent-server).
// Rounds alternate the three (the order rotates), medians and ranges; each start gets a fresh state dir.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/server';
import { packageVsix } from '../test/helpers/vsix';
import { freshCheckout, installWithoutCompiler, npmEnv, pack, ROOT } from '../test/package/pack';
import { freePort } from '../test/vscode/run-in-vscode';
import { line, median, ms } from './lib';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const KEY = 'package-bench-key-0123456789abcdefghijklmnop';
const POLL_MS = 2;
const READY_TIMEOUT_MS = 60_000;

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

/** Bytes of every file under `dir` (what the install puts on disk, before block rounding). */
function bytesUnder(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    bytes += statSync(join(e.parentPath, e.name)).size;
    files++;
  }
  return { bytes, files };
}

/** 200 from GET /health, or undefined while nothing answers yet. */
function healthOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

interface Subject {
  name: string;
  /** Program and arguments that serve GET /health on `port`. */
  command(port: number, stateDir: string): [string, string[]];
}

/** Milliseconds from spawn to the first 200 on /health; the process is then stopped by its pid. */
async function startToReady(subject: Subject, work: string): Promise<number> {
  const port = await freePort();
  const [file, args] = subject.command(port, tempDir('ar-bench-state-'));
  const t0 = performance.now();
  const child = spawn(file, args, { cwd: work, env: { ...npmEnv(), AGENT_RUNTIME_API_KEY: KEY }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (;;) {
      if (await healthOk(port)) return performance.now() - t0;
      if (child.exitCode !== null) throw new Error(`${subject.name} exited ${child.exitCode}: ${err}`);
      if (performance.now() - t0 > READY_TIMEOUT_MS) throw new Error(`${subject.name} not ready in ${READY_TIMEOUT_MS} ms: ${err}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await exited;
  }
}

async function main() {
  const work = tempDir('ar-bench-package-');
  const packed = await pack(freshCheckout(join(work, 'checkout')), work);
  const t0 = performance.now();
  const installed = await installWithoutCompiler(packed.tarball, work);
  const installMs = performance.now() - t0;
  const vsix = packageVsix();
  const vsixBytes = statSync(vsix.file).size;
  vsix.cleanup();
  const onDisk = bytesUnder(join(installed.app, 'node_modules'));
  const ours = bytesUnder(installed.packageDir);

  console.log(`\nSizes (${packed.name}@${packed.version})`);
  line('npm tarball (.tgz)', kib(packed.size), `${packed.files.length} files`);
  line('npm package unpacked', kib(packed.unpackedSize), `${(packed.unpackedSize / packed.size).toFixed(1)}× the tarball`);
  line('installed package folder', kib(ours.bytes), `${ours.files} files`);
  line(
    'installed with its dependencies (node_modules)',
    mib(onDisk.bytes),
    `${onDisk.files} files; the package is ${((ours.bytes / onDisk.bytes) * 100).toFixed(0)}%`,
  );
  line('.vsix', kib(vsixBytes), `${(vsixBytes / packed.size).toFixed(2)}× the npm tarball`);
  line('npm install of the tarball', ms(installMs), 'empty folder, --omit=dev, no compiler; npm cache kept between runs');

  const subjects: Subject[] = [
    {
      name: 'baseline: node -e, bare http server',
      command: (port) => [process.execPath, ['-e', `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`]],
    },
    {
      name: 'in-repo dist/cli.js',
      command: (port, state) => [join(ROOT, 'dist/cli.js'), ['--port', String(port), '--terminal-port', '-1', '--state-dir', state]],
    },
    {
      name: 'installed agent-server (tarball)',
      command: (port, state) => [installed.bin, ['--port', String(port), '--terminal-port', '-1', '--state-dir', state]],
    },
  ];
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (const s of subjects) await startToReady(s, installed.app); // warm the disk cache for all three
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < subjects.length; i++) {
      const s = subjects[(round + i) % subjects.length]!;
      samples.get(s.name)!.push(await startToReady(s, installed.app));
    }
  }

  const base = median(samples.get(subjects[0]!.name)!);
  const repo = median(samples.get(subjects[1]!.name)!);
  console.log(`\nStart to ready: spawn to the first 200 from GET /health (${ROUNDS} alternating rounds, median [min–max])`);
  for (const s of subjects) {
    const v = samples.get(s.name)!;
    const m = median(v);
    const note =
      s === subjects[0] ? 'baseline' : `${(m / base).toFixed(2)}× baseline, +${ms(m - base)}${s === subjects[2] ? `; ${(m / repo).toFixed(2)}× in-repo` : ''}`;
    line(s.name, ms(m), `[${ms(Math.min(...v))}–${ms(Math.max(...v))}] ${note}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
