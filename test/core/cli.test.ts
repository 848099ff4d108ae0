// The `agent-server` CLI as a user runs it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../../package.json';
import { CLI, eventually, processesWith, spawnCli, tempDir } from '../helpers/server';
import { connectMcp, ok } from '../mcp/helpers';

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, AGENT_RUNTIME_API_KEY: '', DEVPILOT_AGENT_API_KEY: '', agent_runtime_API_KEY: '', ...env },
  });

describe('agent-server CLI', () => {
  it('--help and --version', () => {
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage:/);
    assert.match(help.stdout, /--max-concurrent-jobs N/);
    assert.match(help.stdout, /--mcp-max-text-bytes N\s+\/mcp maxTextBytes \(default 32768, 1024–4194304\)/);
    const version = run(['--version']);
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it('rejects unknown flags and bad values with exit code 2', () => {
    const bad = run(['--no-such-flag']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--help/);
    const range = run(['--max-concurrent-jobs', '0']);
    assert.equal(range.status, 2);
    assert.match(range.stderr, /maxConcurrentJobs must be an integer from 1 to 1024/);
    // A negative number is a value, not an option: judged by its range, as the `=` form is.
    for (const args of [['--terminal-port', '-2'], ['--terminal-port=-2']]) {
      const negative = run(args);
      assert.equal(negative.status, 2, args.join(' '));
      assert.match(negative.stderr, /terminalPort must be an integer from -1 to 65535/, args.join(' '));
    }
  });

  it('`--mcp-*` flags set the limits of /mcp, judged by their bounds', async () => {
    const range = run(['--mcp-max-text-bytes', '10']);
    assert.equal(range.status, 2);
    assert.match(range.stderr, /maxTextBytes must be an integer from 1024 to 4194304/);
    const cli = await spawnCli(['--state-dir', tempDir(), '--mcp-max-text-bytes', '1024']);
    const mcp = await connectMcp(cli.url, { authorization: `Bearer ${cli.key}` });
    try {
      const { data, text } = await ok(mcp, 'run_command', { command: `printf 'x%.0s' $(seq 1 3000)` });
      assert.equal(data.stdoutBytes, 3000);
      assert.ok(Buffer.byteLength(text) < 1500, `the text is cut near 1 KiB: ${Buffer.byteLength(text)} bytes`);
      assert.match(text, /earlier bytes of stdout not shown/);
    } finally {
      await mcp.close();
      await cli.stop();
    }
  });

  it('`--terminal-port -1` (a negative value after a space) turns the terminal port off', async () => {
    const cli = await spawnCli(['--state-dir', tempDir(), '--terminal-port', '-1']);
    try {
      await eventually(() => /API key/.test(cli.stderr()), 20_000, 'the banner');
      assert.doesNotMatch(cli.stderr(), /also on port/);
      assert.match(cli.stderr(), /ws on http:\/\/127\.0\.0\.1:\d+\/terminal\/ws/, 'terminals stay on the command port');
    } finally {
      await cli.stop();
    }
  });

  it('`key` prints the key, generating and storing one; `--rotate` replaces it', () => {
    const stateDir = tempDir();
    const first = run(['key', '--state-dir', stateDir]).stdout.trim();
    assert.match(first, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(run(['key', '--state-dir', stateDir]).stdout.trim(), first);
    assert.equal(readFileSync(join(stateDir, 'api_key'), 'utf8').trim(), first);
    const rotated = run(['key', '--rotate', '--state-dir', stateDir]).stdout.trim();
    assert.notEqual(rotated, first);
    assert.equal(run(['key', '--state-dir', stateDir]).stdout.trim(), rotated);
  });

  it('takes the key from each accepted environment name', async () => {
    for (const name of ['AGENT_RUNTIME_API_KEY', 'DEVPILOT_AGENT_API_KEY', 'agent_runtime_API_KEY']) {
      const key = `k-${name}-${randomBytes(8).toString('hex')}`;
      const cli = await spawnCli(
        ['--state-dir', tempDir()],
        { AGENT_RUNTIME_API_KEY: '', DEVPILOT_AGENT_API_KEY: '', agent_runtime_API_KEY: '', [name]: key },
        key,
      );
      try {
        assert.equal((await cli.call('GET', '/health')).body.authenticated, true, name);
        assert.ok(!cli.stderr().includes(key), 'the key is never logged');
      } finally {
        await cli.stop();
      }
    }
  });

  it('SIGTERM shuts down gracefully: running jobs end interrupted, state is kept, exit 0', async () => {
    const stateDir = tempDir();
    const marker = `ar-sigterm-${randomBytes(4).toString('hex')}`;
    const cli = await spawnCli(['--state-dir', stateDir]);
    const r = await cli.call('POST', '/exec', { command: `sleep 300 # ${marker}` });
    await eventually(() => processesWith(marker).length >= 1);
    assert.equal(await cli.stop('SIGTERM'), 0);
    assert.equal(processesWith(marker).length, 0);
    const record = JSON.parse(readFileSync(join(stateDir, 'jobs', r.body.jobId, 'job.json'), 'utf8'));
    assert.equal(record.status, 'failed');
    assert.equal(record.interrupted, true);
  });

  it('POST /update once idle exits with code 42 for the wrapper', async () => {
    const cli = await spawnCli(['--state-dir', tempDir()]);
    const r = await cli.call('POST', '/update');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'updating');
    assert.equal(r.body.version, pkg.version);
    assert.equal(await cli.exited, 42);
  });
});
