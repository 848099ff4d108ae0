// `agent-runtime/client` resolves as a user's code reaches it, by the package's `exports`: `require` gets
// the CJS build, `import` the ESM build, and both are the same client (the built files, not the sources).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '../..');
const EXPECTED = 'AgentRuntimeClient,AgentRuntimeError,DETACH_CODE,FINAL_STATUSES,FilesApi,StreamDroppedError,TerminalConnection,isFinal';

function node(args: string[]): string {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('agent-runtime/client entry points', () => {
  it('require and import both resolve to the built client', () => {
    const built = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(built.status, 0, 'the build failed');
    const cjs = node(['-e', 'const m = require("agent-runtime/client"); console.log(require.resolve("agent-runtime/client") + " " + Object.keys(m).sort())']);
    assert.equal(cjs, `${join(ROOT, 'dist/client/index.cjs')} ${EXPECTED}`);
    const esm = node([
      '--input-type=module',
      '-e',
      'const m = await import("agent-runtime/client"); console.log(import.meta.resolve("agent-runtime/client") + " " + Object.keys(m).sort())',
    ]);
    assert.equal(esm, `${pathToFileURL(join(ROOT, 'dist/client/index.mjs')).href} ${EXPECTED}`);
    // Only the client and the manifest are exported: the extension's bundle is for VS Code alone.
    const main = spawnSync(process.execPath, ['-e', 'require("agent-runtime")'], { cwd: ROOT, encoding: 'utf8' });
    assert.match(main.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
