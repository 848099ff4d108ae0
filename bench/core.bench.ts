// The command server against the raw floor of doing the same work directly, in the same run.
//   1. round trip of `true` (submit, then long-poll until done) vs spawning `sh -c true` directly
//   2. throughput with 8 concurrent clients vs 8 concurrent raw spawns
//   3. 1 GiB of job output: wall time vs the command writing to /dev/null (and to a file, the floor of
//      keeping it, and to memory), and the server's RSS growth
// The server runs on its defaults.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statfsSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NUMERIC_OPTIONS } from '../src/server/config';
import { spawnCli, tempDir } from '../test/helpers/server';
import { jsonClient, line, median, ms, rssMiB, runJob, summary } from './lib';

const ROUND_TRIPS = 300;
const THROUGHPUT_JOBS = 400;
const THROUGHPUT_ROUNDS = 5;
const CLIENTS = 8;
// Steady state is what a long-running server sees. The first thousand or so jobs through a fresh server
// and a fresh client cost up to twice the CPU per job (V8 still optimising, the heap still growing), so
// each side gets the same unmeasured warm-up first. It also takes the server past its job limit, where a
// long-running server stays: from then on every job it starts forgets the oldest.
const WARM_UP_JOBS = (NUMERIC_OPTIONS.maxJobsKept.default as number) + 100;
const BIG_ROUNDS = 3;
const GiB = 1073741824;
const BIG = `head -c ${GiB} /dev/zero | tr "\\0" "x"`;

function rawSpawn(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`sh -c '${command}' ended with ${signal ?? `code ${code}`}`))));
  });
}

async function main() {
  const stateDir = tempDir('ar-bench-');
  const server = await spawnCli(['--state-dir', stateDir]);
  const client = jsonClient(server.url, server.key);
  // The floor of keeping output anywhere: memory (tmpfs), where there is room for 1 GiB and RAM to spare.
  const memOut = roomFor(2 * GiB, '/dev/shm') && freemem() > 4 * GiB ? join('/dev/shm', `ar-bench-${process.pid}.out`) : undefined;
  try {
    // A job that did not complete is an error, as a raw spawn that fails is.
    const roundTrip = async (command: string) => {
      const job = await runJob(client, { command });
      if (job.status !== 'completed') throw new Error(`job ${job.jobId} ${job.status}: ${job.error ?? job.stderr}`);
      return job;
    };
    for (let i = 0; i < WARM_UP_JOBS; i++) {
      await rawSpawn('true');
      await roundTrip('true');
    }

    console.log('round trip of `true` (submit + long-poll until done)');
    const raw: number[] = [];
    const api: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      let t = performance.now();
      await rawSpawn('true');
      raw.push(performance.now() - t);
      t = performance.now();
      await roundTrip('true');
      api.push(performance.now() - t);
    }
    const r = summary(raw);
    const a = summary(api);
    line('raw spawn sh -c true  p50 / p99', `${ms(r.p50)} / ${ms(r.p99)}`);
    line('through the API       p50 / p99', `${ms(a.p50)} / ${ms(a.p99)}`);
    line('p50 overhead over the floor', ms(a.p50 - r.p50), `target ≤ 1.50 ms; ratio ${(a.p50 / r.p50).toFixed(2)}x`);

    console.log(`throughput, ${CLIENTS} concurrent clients, ${THROUGHPUT_JOBS} jobs a round, median of ${THROUGHPUT_ROUNDS} interleaved rounds`);
    let errors = 0;
    const apiJob = async () => {
      const job = await runJob(client, { command: 'true' });
      if (job.status !== 'completed') errors++;
    };
    await rate(() => rawSpawn('true'));
    await rate(apiJob);
    const rawRates: number[] = [];
    const apiRates: number[] = [];
    for (let i = 0; i < THROUGHPUT_ROUNDS; i++) {
      rawRates.push(await rate(() => rawSpawn('true')));
      apiRates.push(await rate(apiJob));
    }
    const rawRate = median(rawRates);
    const apiRate = median(apiRates);
    const rounds = apiRates.map((a, i) => `${((a / rawRates[i]) * 100).toFixed(0)}%`).join(', ');
    line('raw spawns', `${rawRate.toFixed(0)} jobs/s`);
    line(
      'through the API',
      `${apiRate.toFixed(0)} jobs/s`,
      `${((apiRate / rawRate) * 100).toFixed(0)}% of raw (target ≥ 70%; rounds ${rounds}), ${errors} errors`,
    );

    console.log(`1 GiB of job output, median of ${BIG_ROUNDS} interleaved rounds`);
    // The floor of any design that keeps the output: the same command writing a file on the same disk.
    const fileOut = join(stateDir, 'baseline.out');
    const before = rssMiB(server.child.pid!);
    let peak = before.rss;
    const rawBig: number[] = [];
    const rawFile: number[] = [];
    const rawMem: number[] = [];
    const apiBig: number[] = [];
    for (let i = 0; i < BIG_ROUNDS; i++) {
      rawBig.push(await timed(() => rawSpawn(`${BIG} > /dev/null`)));
      rawFile.push(await timed(() => rawSpawn(`${BIG} > ${fileOut}`)));
      rmSync(fileOut);
      if (memOut) {
        rawMem.push(await timed(() => rawSpawn(`${BIG} > ${memOut}`)));
        rmSync(memOut);
      }
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server.child.pid!).rss)), 20);
      let big: any;
      apiBig.push(await timed(async () => void (big = await roundTrip(BIG))));
      clearInterval(sampler);
      if (big.stdoutBytes !== GiB) throw new Error(`expected 1 GiB of output, got ${big.stdoutBytes}`);
    }
    const [nul, file, job] = [median(rawBig), median(rawFile), median(apiBig)];
    const each = (xs: number[]) => `rounds ${xs.map((x) => x.toFixed(0)).join(', ')} ms`;
    line('command > /dev/null', ms(nul), each(rawBig));
    line('command > a file in the state dir', ms(file), `${(file / nul).toFixed(2)}x: what the disk costs; ${each(rawFile)}`);
    if (memOut)
      line('command > a file in memory (tmpfs)', ms(median(rawMem)), `${(median(rawMem) / nul).toFixed(2)}x: what storing it at all costs; ${each(rawMem)}`);
    line('as a job (output kept on disk)', ms(job), `${(job / nul).toFixed(2)}x (target ≤ 1.5x); ${(job / file).toFixed(2)}x the file floor; ${each(apiBig)}`);
    line('server RSS growth', `${(peak - before.rss).toFixed(1)} MiB`, `from ${before.rss.toFixed(1)} MiB (target ≤ 64 MiB)`);
  } finally {
    client.close();
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
    if (memOut) rmSync(memOut, { force: true }); // 1 GiB of RAM until reboot otherwise
  }
}

/**
 * Wall time of `work`, started with the disk settled: without the sync, each 1 GiB run would also pay
 * for writing back (and discarding) the gigabyte before it, and which side pays would depend on the order.
 */
async function timed(work: () => Promise<void>): Promise<number> {
  spawnSync('sync');
  const t = performance.now();
  await work();
  return performance.now() - t;
}

function roomFor(bytes: number, dir: string): boolean {
  if (!existsSync(dir)) return false;
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize >= bytes;
}

async function rate(job: () => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next++ < THROUGHPUT_JOBS) await job();
    }),
  );
  return THROUGHPUT_JOBS / ((performance.now() - t) / 1000);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
