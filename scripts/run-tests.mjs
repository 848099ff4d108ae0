// Runs every *.test.ts under test/ and src/ with Node's own test runner (TypeScript via tsx).
// Arguments narrow the run: `npm test -- terminal` runs only files whose path contains "terminal".
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
// The real VS Code's test is the longest by far (it starts two editors one after the other): it goes first,
// so the others run beside it instead of after it.
const longest = (f) => (f.startsWith(join('test', 'vscode')) ? 0 : 1);
const files = ['test', 'src']
  .flatMap((d) => collect(d))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => longest(a) - longest(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The tests get a home of their own, empty, so the shells they start in terminals read none of this
// machine's dotfiles: a ~/.bashrc that runs `pyenv init`, for one, makes every interactive bash wait up
// to 60 s on a rehash lock that a shell killed mid-rehash (as tests kill shells) leaves behind.
const home = mkdtempSync(join(tmpdir(), 'ar-test-home-'));
const env = { ...process.env, HOME: home };
// Test files run side by side: each starts its own servers on free ports with their own state dirs, and
// most of a test's time is spent waiting on processes, so one more file than there are cores keeps them
// busy. TEST_CONCURRENCY=1 runs them one at a time.
const concurrency = process.env.TEST_CONCURRENCY ?? String(availableParallelism() + 1);
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
rmSync(home, { recursive: true, force: true });
process.exit(r.status ?? 1);
