// The extension's glue against the real core, without an editor: settings → server options, the
// lifecycle, key rotation reaching the running server, and disposal leaving nothing behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerController, type KeyVault } from '../../src/extension/controller';
import { readSettings, needsRestart, reachChanged, serverOptions, terminalOptions, type ExtensionSettings } from '../../src/extension/settings';
import { silentLogger } from '../../src/server/log';
import { apiFor, eventually, processesWith, tempDir } from '../helpers/server';
import { script, scriptedAgent } from '../acp/helpers';

function memoryVault(initial?: string): KeyVault & { value?: string } {
  const v: KeyVault & { value?: string } = {
    value: initial,
    get: async () => v.value,
    set: async (k) => {
      v.value = k;
    },
  };
  return v;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function settingsWith(over: Record<string, unknown>): ExtensionSettings {
  return readSettings((key, fallback) => (key in over ? (over[key] as typeof fallback) : fallback));
}

async function portOpen(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/health`);
    return true;
  } catch {
    return false;
  }
}

describe('extension settings', () => {
  it('default to the package.json defaults and map to server and terminal options', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
    const props = pkg.contributes.configuration.properties as Record<string, { default: unknown }>;
    const s = settingsWith({});
    const fromManifest = readSettings((key, fallback) => (props[`agentRuntime.${key}`]?.default ?? fallback) as typeof fallback);
    assert.deepEqual(s, fromManifest, 'code defaults equal the manifest defaults');
    for (const key of Object.keys(props)) assert.ok(key.startsWith('agentRuntime.'), key);
    assert.deepEqual(serverOptions(settingsWith({ port: 9000, host: '0.0.0.0' }), '/state'), { port: 9000, host: '0.0.0.0', stateDir: '/state' });
    assert.deepEqual(terminalOptions(settingsWith({ 'terminal.maxSessions': 5, 'terminal.idleTimeoutMinutes': 2, 'terminal.maxLifetimeMinutes': 3 })), {
      maxSessions: 5,
      idleTimeoutMs: 120_000,
      maxLifetimeMs: 180_000,
    });
  });

  it('tell a restart from a reach change', () => {
    const base = settingsWith({});
    assert.equal(needsRestart(base, settingsWith({ port: 9999 })), true);
    assert.equal(needsRestart(base, settingsWith({ 'acp.permissionPolicy': 'ask' })), true);
    assert.equal(needsRestart(base, settingsWith({ 'tunnel.enabled': true })), false);
    assert.equal(reachChanged(base, settingsWith({ 'register.url': 'https://d.example' })), true);
    assert.equal(reachChanged(base, settingsWith({ port: 1 })), false);
  });
});

describe('ServerController', () => {
  it('starts, restarts on a port change, rotates the key, and stops without leaving a listener or a process', async () => {
    const vault = memoryVault();
    const port = await freePort();
    const c = new ServerController({ stateDir: tempDir(), logger: silentLogger, vault, env: {} }, settingsWith({ port }));
    const states: string[] = [];
    c.on('change', (i) => states.push(i.state));
    await c.start();
    assert.equal(c.info().state, 'running');
    assert.ok(vault.value, 'a generated key is kept in the vault');
    const api = apiFor(c.info().url!, vault.value!);
    assert.equal((await api.call('GET', '/health')).body.authenticated, true);

    // A new port: the server moves.
    const port2 = await freePort();
    await c.applySettings(settingsWith({ port: port2 }));
    assert.equal(c.info().port, port2);
    assert.equal(await portOpen(port), false, 'the old port is closed');
    const api2 = apiFor(c.info().url!, vault.value!);
    assert.equal((await api2.call('GET', '/health')).body.authenticated, true);

    // Rotation reaches the running server at once and is kept.
    const old = vault.value!;
    const fresh = await c.rotateKey();
    assert.equal(vault.value, fresh);
    assert.notEqual(fresh, old);
    assert.equal((await apiFor(c.info().url!, old).call('GET', '/jobs')).status, 401);
    assert.equal((await apiFor(c.info().url!, fresh).call('GET', '/jobs')).status, 200);

    // A running job's processes end with the server.
    const marker = `ar-ext-${randomBytes(4).toString('hex')}`;
    await apiFor(c.info().url!, fresh).call('POST', '/exec', { command: `sleep 300 # ${marker}` });
    await eventually(() => processesWith(marker).length > 0);
    await c.dispose();
    assert.equal(c.info().state, 'stopped');
    assert.equal(await portOpen(port2), false, 'no listener left');
    assert.equal(processesWith(marker).length, 0, 'no process left');
    assert.ok(states.includes('starting') && states.includes('running') && states.includes('stopping'));
  });

  it("uses the key kept in the vault, and the environment's over it", async () => {
    const stored = `stored-${randomBytes(8).toString('hex')}`;
    const c = new ServerController(
      { stateDir: tempDir(), logger: silentLogger, vault: memoryVault(stored), env: {} },
      settingsWith({ port: await freePort() }),
    );
    await c.start();
    assert.equal(await c.key(), stored);
    await c.dispose();
    const c2 = new ServerController(
      { stateDir: tempDir(), logger: silentLogger, vault: memoryVault(stored), env: { AGENT_RUNTIME_API_KEY: 'from-env-key' } },
      settingsWith({ port: await freePort() }),
    );
    await c2.start();
    assert.equal(await c2.key(), 'from-env-key');
    await c2.dispose();
  });

  it('reports a taken port as failed, with the reason', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const c = new ServerController({ stateDir: tempDir(), logger: silentLogger, vault: memoryVault(), env: {} }, settingsWith({ port }));
    await assert.rejects(c.start(), /EADDRINUSE/);
    assert.equal(c.info().state, 'failed');
    assert.match(c.info().error!, /EADDRINUSE/);
    blocker.close();
    await c.dispose();
  });

  it('POST /update never exits the host: it answers and asks the editor to check for updates', async () => {
    let asked = 0;
    const c = new ServerController(
      { stateDir: tempDir(), logger: silentLogger, vault: memoryVault('k-update-test-key'), env: {}, onUpdateRequested: () => asked++ },
      settingsWith({ port: await freePort() }),
    );
    await c.start();
    const r = await apiFor(c.info().url!, 'k-update-test-key').call('POST', '/update');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'marketplace');
    await eventually(() => asked === 1);
    assert.equal(c.info().state, 'running');
    assert.equal((await apiFor(c.info().url!, 'k-update-test-key').call('GET', '/health')).status, 200);
    await c.dispose();
  });

  it('puts ACP permission requests of policy "ask" before the person and answers with their choice', async () => {
    const seen: string[] = [];
    const c = new ServerController(
      {
        stateDir: tempDir(),
        logger: silentLogger,
        vault: memoryVault('k-ask-test-key-0123456789'),
        env: {},
        askPermission: async (_jobId, request) => {
          seen.push(request.toolCallId);
          return request.options.find((o) => o.kind === 'allow_once')?.optionId;
        },
      },
      settingsWith({ port: await freePort(), 'acp.permissionPolicy': 'ask' }),
    );
    await c.start();
    try {
      const api = apiFor(c.info().url!, 'k-ask-test-key-0123456789');
      const workdir = tempDir();
      const prompt = script({
        permission: { toolCall: { toolCallId: 'edit-1', title: 'Edit a.txt', kind: 'edit', locations: [{ path: `${workdir}/a.txt` }] } },
      });
      // No `policy` in the job: the editor's setting (ask) applies.
      const job = await api.run({ mode: 'acp', agent: scriptedAgent().join(' '), prompt, workdir, timeout: 60 });
      assert.deepEqual(seen, ['edit-1'], 'the person was asked once');
      assert.equal(job.status, 'completed', JSON.stringify(job));
      assert.equal(job.stdout, 'permission:selected:once', "the person's choice was the answer");
    } finally {
      await c.dispose();
    }
  });
});

describe('ServerController, one per window', () => {
  // The windows of one editor share the state dir (the extension's global storage), the vault
  // (SecretStorage, whose change event fires in every window) and, here, the port setting.
  async function inEditor(body: (editor: { vault: { value: string }; port: number; open: () => Promise<ServerController> }) => Promise<void>) {
    const stateDir = tempDir();
    const port = await freePort();
    const listeners = new Set<() => void>();
    const vault: KeyVault & { value: string } = {
      value: `k-windows-${randomBytes(8).toString('hex')}`,
      get: async () => vault.value,
      set: async (k) => {
        vault.value = k;
        listeners.forEach((l) => l());
      },
      onDidChange: (l) => {
        listeners.add(l);
        return { dispose: () => listeners.delete(l) };
      },
    };
    const windows: ServerController[] = [];
    const open = async () => {
      const c = new ServerController({ stateDir, logger: silentLogger, vault, env: {}, standbyRetryMs: 100 }, settingsWith({ port }));
      windows.push(c);
      await c.start();
      return c;
    };
    let passed = false;
    try {
      await body({ vault, port, open });
      passed = true;
    } finally {
      // Every window closes, whatever happened; a test's own failure is the one reported.
      const closed = await Promise.allSettled(windows.map((w) => w.dispose()));
      // eslint-disable-next-line no-unsafe-finally -- only when the test itself passed
      for (const c of closed) if (passed && c.status === 'rejected') throw c.reason;
    }
  }
  const takesOver = (w: ServerController) => eventually(() => w.info().state === 'running', 20_000, 'a window standing by to take over');
  const status = async (url: string, key: string) => (await apiFor(url, key).call('GET', '/jobs')).status;

  it("a second window stands by, leaves the first one's job alone, and takes over when the first closes", () =>
    inEditor(async ({ vault, open, port }) => {
      const first = await open();
      const api = apiFor(first.info().url!, vault.value);
      const { body } = await api.call('POST', '/exec', { command: 'sleep 1.5; echo done' });

      const t = Date.now();
      const second = await open(); // no error for the person: the machine is served
      assert.ok(Date.now() - t < 2000, 'a window standing by does not wait out the lock');
      assert.equal(second.info().state, 'standby');
      assert.equal(second.info().servedBy, process.pid, 'the serving window is named (here, this process)');
      assert.equal(second.info().url, undefined);

      // A window standing by that is told to stop gives up its standby: it does not take over later.
      const third = await open();
      assert.equal(third.info().state, 'standby');
      await third.stop();
      assert.equal(third.info().state, 'stopped');

      assert.equal((await api.run({ command: 'true' })).status, 'completed', 'the first window keeps serving');
      const slow = await api.waitJob(body.jobId);
      assert.equal(slow.status, 'completed', JSON.stringify(slow));
      assert.equal(slow.stdout, 'done\n');

      await first.dispose(); // the window closes
      await takesOver(second);
      assert.equal(second.info().port, port);
      const after = await apiFor(second.info().url!, vault.value).call('GET', `/jobs/${body.jobId}`);
      assert.equal(after.body.status, 'completed', "the first window's job, as it ended");
      assert.equal(after.body.interrupted, undefined);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(third.info().state, 'stopped', 'the stopped window stayed stopped');
    }));

  it('a key rotated in any window is the one in force, before and after a takeover', () =>
    inEditor(async ({ vault, open }) => {
      const first = await open();
      const second = await open();
      assert.equal(second.info().state, 'standby');
      const url = first.info().url!;
      const original = vault.value;

      const fromStandby = await second.rotateKey();
      assert.equal(vault.value, fromStandby);
      assert.equal(await first.key(), fromStandby, 'the serving window follows the vault');
      assert.equal(await status(url, fromStandby), 200);
      assert.equal(await status(url, original), 401);

      const fromServing = await first.rotateKey();
      assert.equal(await second.key(), fromServing, 'a window standing by shows the key in force');

      await first.dispose();
      await takesOver(second);
      assert.equal(await status(second.info().url!, fromServing), 200, 'the latest key, not the one held when it began standing by');
      assert.equal(await status(second.info().url!, fromStandby), 401);
    }));

  it("Stop Server in the serving window stops the machine's server: no window takes over until a Start", () =>
    inEditor(async ({ vault, open, port }) => {
      const first = await open();
      const second = await open();
      const states: string[] = [];
      second.on('change', (i) => states.push(i.state));
      await second.restart(); // from standby: one more try, still standing by
      assert.equal(second.info().state, 'standby');
      assert.deepEqual(
        states.filter((s) => s !== 'standby'),
        [],
        'no passing through stopped or starting',
      );

      await first.stop();
      await eventually(() => second.info().state === 'stopped', 20_000, 'the second window to give up its standby');
      assert.equal(await portOpen(port), false, 'nobody serves');

      await first.start(); // a Start anywhere serves again, and the stop no longer holds
      assert.equal(first.info().state, 'running');
      assert.equal(await status(first.info().url!, vault.value), 200);
      await eventually(() => second.info().state === 'standby', 20_000, 'the second window to stand by again');

      // The window that stopped watches like the others: a Start elsewhere, and it stands by.
      await first.stop();
      await eventually(() => second.info().state === 'stopped', 20_000, 'the second window to see the stop');
      assert.equal(first.info().state, 'stopped');
      await second.start();
      assert.equal(second.info().state, 'running');
      await eventually(() => first.info().state === 'standby', 20_000, 'the first window to stand by');
      await second.dispose();
      await takesOver(first);
      assert.equal(await status(first.info().url!, vault.value), 200);
    }));
});
