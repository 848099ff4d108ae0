// The .vsix as `npm run package` builds it, into a temp folder, for the tests that check or install it.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from './server';

const ROOT = resolve(__dirname, '../..');

export function packageVsix(): { file: string; cleanup(): void } {
  const tmp = tempDir('ar-vsix-');
  const file = join(tmp, 'agent-runtime.vsix');
  const vsce = join(ROOT, 'node_modules/@vscode/vsce/vsce');
  execFileSync(process.execPath, [vsce, 'package', '--allow-missing-repository', '--skip-license', '--out', file], { cwd: ROOT, stdio: 'pipe' });
  return { file, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}
