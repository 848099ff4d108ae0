// Idle memory of the server, on the CLI's defaults, against a bare `node` process started the same way in
// the same run; then the server and its spawn helper after a job (an idle server keeps no helper).
//
// RSS counts every page a process maps, so two Node processes each count the Node binary and its
// libraries in full although the machine holds them once. PSS shares such pages among the processes that
// map them, and Private is what a process alone costs. PSS depends on what else runs (other Node
// processes share the binary too), so the pair's cost on a machine where it runs alone is also given:
// the server's RSS plus the helper's private pages (the helper's shared pages are the Node binary and
// libraries, which the server maps as well).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnCli, spawnHelperOf, tempDir } from '../test/helpers/server';
import { line } from './lib';

const SETTLE_MS = 5000;

interface Footprint {
  rss: number;
  pss: number;
  priv: number;
}

/** From /proc/PID/smaps_rollup, in MiB. */
function footprint(pid: number): Footprint {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kib('Rss') / 1024, pss: kib('Pss') / 1024, priv: (kib('Private_Clean') + kib('Private_Dirty')) / 1024 };
}

const fmt = (f: Footprint) => `${f.rss.toFixed(1)} / ${f.pss.toFixed(1)} / ${f.priv.toFixed(1)}`;
const sum = (a: Footprint, b: Footprint): Footprint => ({ rss: a.rss + b.rss, pss: a.pss + b.pss, priv: a.priv + b.priv });

async function bareNode(): Promise<Footprint> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(SETTLE_MS);
    return footprint(child.pid!);
  } finally {
    child.kill();
  }
}

async function main() {
  const baseline = await bareNode();
  const stateDir = tempDir('ar-bench-');
  const server = await spawnCli(['--state-dir', stateDir]);
  try {
    await sleep(SETTLE_MS);
    const idle = footprint(server.child.pid!);
    console.log('idle memory, MiB: RSS / PSS / private');
    line('bare node (baseline)', fmt(baseline));
    line(
      'server, idle (no spawn helper runs)',
      fmt(idle),
      `${(idle.rss / baseline.rss).toFixed(2)}× bare node's RSS; target: at most 80 MiB RSS (${idle.rss <= 80 ? 'met' : 'missed'})`,
    );
    const idleHelper = (() => {
      try {
        return spawnHelperOf(server.child.pid!);
      } catch {
        return undefined;
      }
    })();
    if (idleHelper !== undefined) throw new Error(`an idle server keeps a spawn helper (pid ${idleHelper})`);
    // With work, the helper runs beside it (until it has been idle for HELPER_IDLE_MS).
    await server.run({ command: 'true' });
    await sleep(SETTLE_MS);
    const own = footprint(server.child.pid!);
    const helper = footprint(spawnHelperOf(server.child.pid!));
    line('server, after a job', fmt(own));
    line('spawn helper, after a job', fmt(helper), `${(helper.pss / baseline.pss).toFixed(2)}× bare node's PSS`);
    line('server + helper (RSS counts the Node binary twice)', fmt(sum(own, helper)), `alone on a machine: ${(own.rss + helper.priv).toFixed(1)} MiB`);
  } finally {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
