// The examples stay runnable: the client example against the SDK example agent, as a user would run it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

describe('examples/acp', () => {
  it('run-client.ts drives echo-agent.ts to the end of its turn', () => {
    const root = join(__dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples/acp/run-client.ts'), 'ping pong'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /text: +You said: ping pong/);
    assert.match(r.stdout, /stop reason: end_turn/);
    assert.match(r.stdout, /tool calls: +Write echo\.txt \[completed\]/);
    assert.match(r.stdout, /echo\.txt: +ping pong/);
    assert.match(r.stderr, /\[permission\] allow write-1: stays inside the workdir/);
  });
});
