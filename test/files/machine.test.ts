// Ports, expose through the devtunnel, metrics and the machine, over real HTTP. The devtunnel service is
// unreachable here, so expose runs against the stand-in devtunnel CLI of the reach tests (a mock).
// Calls go through the typed client (s.client); the bearer-token and keyless requests stay raw HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startReach } from '../../src/server/reach';
import { devtunnelCalls, fakeDevtunnel } from '../reach/helpers';
import { startTestServer, tempDir } from '../helpers/server';
import { failure } from '../client/helpers';
import { raw } from './helpers';

describe('ports, metrics and the machine', () => {
  it('GET /ports lists a server started here, with this process as its owner', async () => {
    const listener = createServer();
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const port = (listener.address() as { port: number }).port;
    const s = await startTestServer();
    try {
      const r = await s.client.ports();
      assert.equal(r.source, 'procfs');
      const mine = r.ports.find((p) => p.port === port);
      assert.deepEqual(mine, { port, address: '127.0.0.1', pid: process.pid, process: mine?.process });
      assert.ok(mine.process, 'the process name is known');
      assert.ok(
        r.ports.some((p) => p.port === s.server.port),
        'the server itself',
      );
    } finally {
      listener.close();
      await s.close();
    }
  });

  it('expose: 409 without a tunnel; with one, the port is added to the devtunnel and its URL answered', async () => {
    const s = await startTestServer();
    const dt = fakeDevtunnel();
    try {
      assert.equal((await failure(s.client.exposePort(3000))).status, 409);
      assert.equal((await failure(s.client.unexposePort(3000))).status, 409);
      assert.equal((await failure(s.client.exposePort(70000))).status, 400);
      // Through startReach, as both hosts start the tunnel: it hands the tunnel to the ports routes.
      const reach = await startReach(s.server, {
        tunnel: true,
        tunnelId: 'files-test',
        name: 'h',
        env: {},
        tunnelOptions: { program: 'devtunnel', env: dt.env, hostName: 'h' },
      });
      const tunnel = reach.tunnel!;
      try {
        const r = await s.client.exposePort(3000);
        assert.equal(r.port, 3000);
        assert.equal(r.url, tunnel.url.replace(`-${s.server.port}.`, '-3000.'));
        assert.match(r.url, /^https:\/\/.+-3000\..+devtunnels\.ms/);
        assert.ok(devtunnelCalls(dt.state).some((c) => c.join(' ') === 'port create files-test -p 3000'));
        await s.client.unexposePort(3000);
        assert.ok(devtunnelCalls(dt.state).some((c) => c.join(' ') === 'port delete files-test -p 3000'));
        const ports = JSON.parse(readFileSync(join(dt.state, 'tunnels.json'), 'utf8')).tunnels['files-test'].ports;
        assert.deepEqual(ports, [s.server.port, s.server.terminalPort].filter(Boolean), 'the exposed port is gone from the tunnel');
      } finally {
        await reach.stop();
      }
      assert.equal((await failure(s.client.exposePort(3000))).status, 409, 'a stopped tunnel exposes nothing');
    } finally {
      dt.cleanup();
      await s.close();
    }
  });

  it('GET /metrics is Prometheus text with the jobs run, and takes the key as a bearer token', async () => {
    const s = await startTestServer();
    try {
      await s.client.run({ command: 'echo hello' });
      await s.client.run({ command: 'echo oops >&2; exit 3' });
      await s.client.run({ command: 'true' });
      assert.equal((await raw(s.url, null, 'GET', '/metrics')).status, 401);
      assert.equal((await raw(s.url, null, 'GET', '/metrics', undefined, { Authorization: 'Bearer wrong' })).status, 401);
      const r = await raw(s.url, null, 'GET', '/metrics', undefined, { Authorization: `Bearer ${s.key}` });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const samples = parsePrometheus(r.body.toString());
      assert.equal(samples.get('agent_runtime_jobs_total{mode="shell",status="completed"}'), 2);
      assert.equal(samples.get('agent_runtime_jobs_total{mode="shell",status="failed"}'), 1);
      assert.equal(samples.get('agent_runtime_job_duration_seconds_count{mode="shell"}'), 3);
      assert.equal(samples.get('agent_runtime_job_output_bytes_total{stream="stdout"}'), 6);
      assert.equal(samples.get('agent_runtime_job_output_bytes_total{stream="stderr"}'), 5);
      assert.equal(samples.get('agent_runtime_jobs_running'), 0);
      assert.equal(samples.get('agent_runtime_terminal_sessions'), 0);
      assert.ok((samples.get('process_resident_memory_bytes') ?? 0) > 0);
      // The X-API-Key works too (the client sends it).
      assert.deepEqual(parsePrometheus(await s.client.metrics()).get('agent_runtime_jobs_running'), 0);
    } finally {
      await s.close();
    }
  });

  it('GET /system describes the machine and the disk of each files root', async () => {
    const root = tempDir('ar-sys-');
    const s = await startTestServer({ filesRoots: [root] });
    try {
      const r = await s.client.system();
      assert.equal(r.platform, process.platform);
      assert.ok(r.cpus! >= 1 && r.memory!.total! > r.memory!.free! && r.loadavg!.length === 3);
      assert.equal(r.disk![0].path, root);
      assert.ok(r.disk![0].total! > r.disk![0].free! && r.disk![0].free! > 0);
    } finally {
      await s.close();
    }
  });
});

/** Prometheus text format: `name{labels} value` lines (comments skipped); each line must parse. */
function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}
