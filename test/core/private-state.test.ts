// The state dir and its key file are the user's alone: loose modes left by an older version or a umask are
// tightened at start, and a folder that belongs to someone else is refused, saying why (CONTRACT §8).
// POSIX only: on Windows the profile folder's ACL does this.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, spawnCli, tempDir, TEST_KEY } from '../helpers/server';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the state dir is private', { skip: process.platform === 'win32' ? 'ACLs on Windows' : false }, () => {
  it('an existing dir 0755 and key file 0644 are tightened to 0700 and 0600, and the key in it still works', async () => {
    const stateDir = join(tempDir(), 'state');
    mkdirSync(stateDir, { mode: 0o755 });
    chmodSync(stateDir, 0o755);
    writeFileSync(join(stateDir, 'api_key'), `${TEST_KEY}\n`, { mode: 0o644 });
    chmodSync(join(stateDir, 'api_key'), 0o644);
    // No key in the environment: the server reads the file it finds.
    const cli = await spawnCli(['--state-dir', stateDir], { AGENT_RUNTIME_API_KEY: '' });
    try {
      assert.equal(mode(stateDir), 0o700);
      assert.equal(mode(join(stateDir, 'api_key')), 0o600);
      assert.match(cli.stderr(), /state dir .* was readable by others \(mode 0755\); tightened to 0700/);
      assert.match(cli.stderr(), /key file .* was readable by others \(mode 0644\); tightened to 0600/);
      assert.equal((await cli.run({ command: 'echo ok' })).stdout, 'ok\n');
    } finally {
      await cli.stop();
    }
  });

  it('`agent-server key` tightens them too', () => {
    const stateDir = tempDir();
    chmodSync(stateDir, 0o750);
    writeFileSync(join(stateDir, 'api_key'), `${TEST_KEY}\n`);
    chmodSync(join(stateDir, 'api_key'), 0o640);
    const r = spawnSync(CLI, ['key', '--state-dir', stateDir], { encoding: 'utf8', env: { ...process.env, AGENT_RUNTIME_API_KEY: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), TEST_KEY);
    assert.equal(mode(stateDir), 0o700);
    assert.equal(mode(join(stateDir, 'api_key')), 0o600);
  });

  it('a state dir that belongs to another user is refused, saying why', { skip: process.getuid?.() !== 0 ? 'needs root to give a folder away' : false }, () => {
    const stateDir = tempDir();
    chmodSync(stateDir, 0o755);
    chownSync(stateDir, 65534, 65534);
    const r = spawnSync(CLI, ['--port', '0', '--state-dir', stateDir], {
      encoding: 'utf8',
      env: { ...process.env, AGENT_RUNTIME_API_KEY: TEST_KEY },
      timeout: 20_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /the state dir .* belongs to uid 65534, not to this user \(uid 0\), so it cannot be made private/);
    assert.equal(mode(stateDir), 0o755, 'left as it was');
  });
});
