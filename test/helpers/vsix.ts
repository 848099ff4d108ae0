// The .vsix as `npm run package` builds it (vsce with no flags that skip its checks), into a temp folder,
// for the tests that check or install it.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from './server';

const ROOT = resolve(__dirname, '../..');
const VSCE = join(ROOT, 'node_modules/@vscode/vsce/vsce');

export interface PackagedVsix {
  file: string;
  /** What vsce printed: its warnings would be here. */
  output: string;
  cleanup(): void;
}

export function packageVsix(): PackagedVsix {
  const tmp = tempDir('ar-vsix-');
  const file = join(tmp, 'agent-runtime.vsix');
  try {
    // stdin closed: a check vsce would ask about (a missing license or repository) fails instead of waiting.
    const output = execFileSync(process.execPath, [VSCE, 'package', '--out', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    return { file, output, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`vsce package failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
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
