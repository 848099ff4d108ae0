// Runs the *.test.ts files under test/ and src/ with Node's test module, each in a process of its own
// (TypeScript via tsx), several at once, longest first; prints each file's report when it ends, then the
// slowest files.
//   node scripts/run-tests.mjs            every file but the end-to-end ones (`npm test`)
//   node scripts/run-tests.mjs --e2e      only the end-to-end ones (`npm run test:e2e`)
//   node scripts/run-tests.mjs terminal   any file whose path contains "terminal", end-to-end or not
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, sep } from 'node:path';

/**
 * The end-to-end files: the packaged artifacts in real editors and real npm installs, a quarter of the whole
 * run's CPU (vsce, code-server, chromium, npm). They run on their own (`npm run test:e2e`, which CI runs
 * after `npm test`), so that `npm test` stays within two minutes on two cores.
 */
const E2E = ['test/vscode/', 'test/extension/package.test.ts', 'test/reach/self-update.test.ts', 'test/package/'];

/**
 * The files that take longest, longest first, as measured here (seconds with three files at once on two
 * cores): they start first, so the short ones fill the cores beside them instead of waiting behind them.
 * The slowest files of each run are printed at its end; one that shows up there belongs in this list.
 */
const LONGEST = [
  'test/vscode/extension.vscode.test.ts', // 49
  'test/package/', // an npm pack and install
  'test/core/streams.test.ts', // 32
  'test/extension/package.test.ts', // 29
  'test/reach/self-update.test.ts', // 27
  'test/terminal/streams.test.ts', // 22
  'test/files/large.test.ts', // 17
  'test/reach/tunnel.test.ts', // 15
  'test/terminal/backpressure.test.ts', // 15
  'test/core/state-lock.test.ts', // 14
  'test/extension/controller.test.ts', // 13
  'test/terminal/terminal.test.ts', // 13
  'test/fuzz/ws.test.ts', // 12
  'test/acp/server.test.ts', // 11
  'test/files/watch.test.ts', // 11
  'test/acp/faults.test.ts', // 11
  'test/terminal/browser.test.ts', // 10
  'test/files/confinement.test.ts', // 10
  'test/reach/server-reach.test.ts', // 9
];

function collect(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p.split(sep).join('/'));
  }
  return out;
}

const args = process.argv.slice(2);
const e2e = args.includes('--e2e');
const filters = args.filter((a) => a !== '--e2e');
const isE2e = (f) => E2E.some((p) => f.startsWith(p));
const rank = (f) => {
  const i = LONGEST.findIndex((p) => f.startsWith(p));
  return i === -1 ? LONGEST.length : i;
};
const files = ['test', 'src']
  .flatMap((d) => collect(d))
  .filter((f) => (filters.length > 0 ? filters.some((x) => f.includes(x)) : isE2e(f) === e2e))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// Files run side by side: each starts its own servers on free ports with their own state dirs, and most of
// a file's time is spent waiting on the processes it drives, so twice as many files as cores keep the cores
// busy without starving the timing checks. TEST_CONCURRENCY=1 runs them one at a time.
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY) || availableParallelism() * 2);

// The tests get a home of their own, empty, so the shells they start in terminals read none of this
// machine's dotfiles: a ~/.bashrc that runs `pyenv init`, for one, makes every interactive bash wait up
// to 60 s on a rehash lock that a shell killed mid-rehash (as tests kill shells) leaves behind.
const home = mkdtempSync(join(tmpdir(), 'ar-test-home-'));
// What the files of one run share (the .vsix they check and install: test/helpers/vsix.ts), removed after.
const shared = mkdtempSync(join(tmpdir(), 'ar-test-shared-'));
const env = { ...process.env, HOME: home, AR_TEST_SHARED_DIR: shared };

/** A file still running after this long is killed and counts as failed (the slowest take about a minute). */
const FILE_TIMEOUT_MS = 10 * 60_000;

const GROUPS = process.platform !== 'win32';
const running = new Set();
function killFile(child) {
  try {
    if (GROUPS) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // already gone
  }
}
// The files' groups do not get the terminal's Ctrl-C: the runner passes it on.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    for (const child of running) killFile(child);
    rmSync(home, { recursive: true, force: true });
    rmSync(shared, { recursive: true, force: true });
    process.exit(1);
  });
}

const totals = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const timings = [];
const failed = [];

function runFile(file) {
  return new Promise((resolve) => {
    const started = performance.now();
    // The file itself is the process (no `--test`, which would start a runner process to start it): its
    // tests report on their own, and it exits 1 if one failed.
    // In a process group of its own (POSIX), so that a file killed takes the servers it started with it.
    const child = spawn(process.execPath, ['--import', 'tsx', '--test-reporter=spec', file], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: GROUPS,
    });
    running.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killFile(child);
    }, FILE_TIMEOUT_MS);
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (timedOut) out.push(Buffer.from(`\nkilled: still running after ${FILE_TIMEOUT_MS / 1000} s\n`));
      const seconds = (performance.now() - started) / 1000;
      const text = Buffer.concat(out).toString();
      for (const [, name, n] of text.matchAll(/^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) totals[name] += Number(n);
      // Each file's counts go into the totals at the end, not into its report.
      const report = text.replace(/^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [\d.]+\n/gm, '');
      timings.push({ file, seconds });
      const ok = code === 0;
      if (!ok) failed.push(file);
      process.stdout.write(`\n${ok ? '✔' : '✖'} ${file} (${seconds.toFixed(1)} s${ok ? '' : `, exit ${code ?? signal}`})\n${report}`);
      resolve();
    });
  });
}

const started = performance.now();
const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(concurrency, files.length) }, async () => {
    while (queue.length > 0) await runFile(queue.shift());
  }),
);
rmSync(home, { recursive: true, force: true });
rmSync(shared, { recursive: true, force: true });

const wall = (performance.now() - started) / 1000;
const sum = timings.reduce((s, t) => s + t.seconds, 0);
console.log(`\n${files.length} files, ${concurrency} at once: ${wall.toFixed(1)} s (the files' own times add up to ${sum.toFixed(1)} s)`);
console.log('slowest:');
for (const t of timings.sort((a, b) => b.seconds - a.seconds).slice(0, 8)) console.log(`  ${t.seconds.toFixed(1).padStart(6)} s  ${t.file}`);
console.log(
  Object.entries(totals)
    .map(([k, v]) => `${k} ${v}`)
    .join(', '),
);
if (failed.length > 0) console.log(`failed:\n${failed.map((f) => `  ${f}`).join('\n')}`);
process.exit(failed.length > 0 ? 1 : 0);
