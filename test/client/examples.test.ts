// examples/client stays runnable: the tour against the real `agent-server` CLI, as a user would run it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { spawnCli } from '../helpers/server';

describe('examples/client', () => {
  it('tour.ts runs a streamed command, a file round trip with a conflict, and a terminal', async () => {
    const cli = await spawnCli(['--terminal-port', '-1']);
    try {
      const root = join(__dirname, '../..');
      const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples/client/tour.ts')], {
        cwd: root,
        env: { ...process.env, AGENT_RUNTIME_URL: cli.url, AGENT_RUNTIME_API_KEY: cli.key },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      assert.equal(code, 0, err);
      assert.match(out, /server: +agent-runtime /);
      assert.match(out, /stdout: +tick 1/);
      assert.match(out, /job: +completed, exit code 0/);
      assert.match(out, /file: +hello from the tour \(20 bytes\)/);
      assert.match(out, /conflict: 412 /);
      assert.match(out, /terminal: 42/);
    } finally {
      await cli.stop();
    }
  });
});
