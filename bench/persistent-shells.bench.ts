// Persistent shells against the floor of doing the same work without them, in the same run.
//   1. a command in a live session (manager level) vs spawning `bash -c` for it
//   2. round trip through the API: `mode: "persistent_shell"` vs `mode: "shell"`
//   3. 256 MiB of output through a session (terminator scanning) vs the same command's stdout read by Node
//      from a plain pipe (and, for scale, written to /dev/null)
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ShellCatalog } from '../src/server/modes/persistent-shell/catalog';
import { SessionManager } from '../src/server/modes/persistent-shell/manager';
import { spawnCli, tempDir } from '../test/helpers/server';
import { jsonClient, line, ms, runJob, summary } from './lib';

const N = 200;
const BIG = 'head -c 268435456 /dev/zero | tr "\\0" "x"';

function rawBash(command: string, sink?: (c: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-c', command], { stdio: ['ignore', sink ? 'pipe' : 'ignore', 'ignore'], detached: true });
    child.stdout?.on('data', sink!);
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

async function timed(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

async function main() {
  const m = new SessionManager(new ShellCatalog(), { maxSessions: 4, idleTimeoutSeconds: 0, killGraceMs: 500 });
  const inSession = (command: string, sink: (c: Buffer) => void = () => {}) =>
    m.run('bench', 'bash', { workdir: process.cwd(), env: process.env }, { command, onStdout: sink, onStderr: sink }).done;
  try {
    await timed(() => inSession('true'), 20);
    await timed(() => rawBash('true'), 20);
    console.log(`a command, ${N} times (manager level)`);
    const raw = summary(await timed(() => rawBash('true'), N));
    const live = summary(await timed(() => inSession('true'), N));
    line('spawn bash -c true      p50 / p99', `${ms(raw.p50)} / ${ms(raw.p99)}`);
    line('in a live session       p50 / p99', `${ms(live.p50)} / ${ms(live.p99)}`);
    line('session vs fresh spawn (p50)', `${(live.p50 / raw.p50).toFixed(2)}x`, 'below 1 means the session is faster');

    console.log('256 MiB of output');
    let t = performance.now();
    await rawBash(`${BIG} > /dev/null`);
    const devnull = performance.now() - t;
    let piped = 0;
    t = performance.now();
    await rawBash(BIG, (c) => (piped += c.length));
    const floor = performance.now() - t;
    let bytes = 0;
    t = performance.now();
    await inSession(BIG, (c) => (bytes += c.length));
    const through = performance.now() - t;
    line('raw, to /dev/null', ms(devnull));
    line('raw, read by Node from a pipe (the floor)', ms(floor), `${(piped / 1048576).toFixed(0)} MiB`);
    line(
      'through a session (scanned)',
      ms(through),
      `${(bytes / 1048576).toFixed(0)} MiB; ${(268435456 / 1048576 / (through / 1000)).toFixed(0)} MiB/s; ratio ${(through / floor).toFixed(2)}x`,
    );
  } finally {
    await m.closeAll();
  }

  const stateDir = tempDir('ar-bench-shells-');
  const server = await spawnCli(['--state-dir', stateDir, '--max-jobs-kept', '100000']);
  const client = jsonClient(server.url, server.key);
  try {
    const roundTrip = (body: Record<string, unknown>) => runJob(client, body);
    const persistent = { mode: 'persistent_shell', sessionKey: 'bench', shell: 'bash', command: 'true' };
    const plain = { command: 'true' };
    await timed(() => roundTrip(persistent), 20);
    await timed(() => roundTrip(plain), 20);
    console.log(`round trip through the API, ${N} times`);
    const p = summary(await timed(() => roundTrip(plain), N));
    const q = summary(await timed(() => roundTrip(persistent), N));
    line('mode shell              p50 / p99', `${ms(p.p50)} / ${ms(p.p99)}`);
    line('mode persistent_shell   p50 / p99', `${ms(q.p50)} / ${ms(q.p99)}`);
    line('persistent vs shell (p50)', `${(q.p50 / p.p50).toFixed(2)}x`);
  } finally {
    client.close();
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
