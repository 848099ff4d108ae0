// The .vsix as `npm run package` builds it (vsce with no flags that skip its checks), into a temp folder,
// for the tests that check or install it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from './server';

const ROOT = resolve(__dirname, '../..');
const VSCE = join(ROOT, 'node_modules/@vscode/vsce/vsce');
/** How long a file waits for another to package the shared .vsix (vsce takes about 15 s on a loaded machine). */
const SHARED_WAIT_MS = 180_000;

export interface PackagedVsix {
  file: string;
  /** What vsce printed: its warnings would be here. */
  output: string;
  cleanup(): void;
}

/**
 * Packages the .vsix into a temp folder of its own; under scripts/run-tests.mjs (AR_TEST_SHARED_DIR set),
 * once per test run: vsce takes seconds of CPU, and every file that checks or installs the .vsix gets the
 * same one, packaged from the same tree.
 */
export function packageVsix(): PackagedVsix {
  const shared = process.env.AR_TEST_SHARED_DIR;
  if (shared) return sharedVsix(join(shared, 'vsix'));
  const tmp = tempDir('ar-vsix-');
  try {
    return { ...vscePackage(tmp), cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function vscePackage(dir: string): { file: string; output: string } {
  const file = join(dir, 'agent-runtime.vsix');
  try {
    // stdin closed: a check vsce would ask about (a missing license or repository) fails instead of waiting.
    const output = execFileSync(process.execPath, [VSCE, 'package', '--out', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    return { file, output };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`vsce package failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

/** The first file to ask packages into `dir` and writes down how it went; the others wait for that. */
function sharedVsix(dir: string): PackagedVsix {
  const outcome = join(dir, 'outcome.json');
  let first = true;
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    first = false;
  }
  if (first) {
    let result: { file?: string; output?: string; error?: string };
    try {
      result = vscePackage(dir);
    } catch (err) {
      result = { error: (err as Error).message };
    }
    writeFileSync(`${outcome}.tmp`, JSON.stringify(result));
    renameSync(`${outcome}.tmp`, outcome);
  }
  // Blocking is fine here: a file asks for the .vsix before its tests, and nothing else of it runs meanwhile.
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + SHARED_WAIT_MS;
  while (!existsSync(outcome)) {
    if (Date.now() > deadline) throw new Error(`no .vsix in ${dir} after ${SHARED_WAIT_MS} ms: the file packaging it ended first`);
    Atomics.wait(tick, 0, 0, 100);
  }
  const result = JSON.parse(readFileSync(outcome, 'utf8')) as { file?: string; output?: string; error?: string };
  if (result.error !== undefined) throw new Error(result.error);
  // The test runner removes the shared folder after the run.
  return { file: result.file!, output: result.output!, cleanup: () => undefined };
}

/** The names inside a .vsix (a zip), read by Python's zipfile: the list as VS Code sees it. */
export function vsixEntries(file: string): string[] {
  return execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file], { encoding: 'utf8' })
    .trim()
    .split('\n');
}

/** One file of a .vsix, as bytes. */
export function vsixEntry(file: string, name: string): Buffer {
  return execFileSync('python3', ['-c', 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))', file, name], {
    maxBuffer: 64 * 1024 * 1024,
  });
}
