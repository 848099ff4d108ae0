// The files API against doing the same work directly, in the same run:
//   1. 1 GiB upload and download vs `cp` of the same file on the same disk (target: at least 0.5x cp's
//      throughput), and the server's RSS growth meanwhile (target: at most 64 MiB). The client is curl, a
//      lean native one as an orchestrator's would be (a Node client spends more CPU than the server here,
//      on the same two cores); without curl, the Node client of the tests. Also measured: dd writing the
//      file through user space into a temporary file and mv over the target, the floor of an atomic
//      replace from user space (cp copies inside the kernel with copy_file_range), and `cat` into a new
//      file (user space, no replace). Each timed copy starts after a `sync` (untimed): otherwise a copy pays
//      for the writeback of the one before it (cp's file was removed at once and never needed writing back,
//      the others were kept), which made the order of the steps, not the server, decide the ratios.
//      A replace on ext4 also pays in rename(2) (auto_da_alloc starts writeback of the new file and the
//      old file's blocks are freed): about 0.5 s per GiB, strace -T shows, for dd + mv and the server alike.
//      Two more, to tell the server's share from the client's and the loopback's: the same upload to a
//      bare Node HTTP server that drops the body (the ceiling of any upload a Node server takes in), and
//      the download to /dev/null (the server's side alone; curl writes a file 8 KiB per write(2)).
//   2. a search over this repository vs `rg` run directly with the same rules (target: at most 1.5x)
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { rgRuleArgs } from '../src/server/files/search';
import { spawnCli, tempDir } from '../test/helpers/server';
import { download, rssSampler, upload } from '../test/files/transfer';
import { jsonClient, line, median, ms } from './lib';

const GiB = 1 << 30;
const ROUNDS = 3;
/** Searches per side, alternated: a few take a loaded moment, and 7 let one swing the median (rg 35 ms once). */
const SEARCHES = 25;
const REPO = resolve(__dirname, '..');
const PATTERN = 'export (async )?function \\w+';

/** A program run without blocking this process (its RSS sampler keeps sampling meanwhile). */
function run(file: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (err && typeof code !== 'number') return reject(err);
      resolve({ status: err ? (code as number) : 0, stdout, stderr });
    });
  });
}

const hasCurl = spawnSync('curl', ['--version']).status === 0;

async function put(url: string, key: string, from: string, path: string): Promise<{ status: number; body: string }> {
  if (!hasCurl) return upload(url, key, from, path);
  // `Expect:` (empty) sends the body at once instead of waiting for a 100 Continue.
  const r = await run('curl', [
    '-sS',
    '-T',
    from,
    '-H',
    `X-API-Key: ${key}`,
    '-H',
    'Expect:',
    '-w',
    '\n%{http_code}',
    `${url}/files/content?path=${encodeURIComponent(path)}`,
  ]);
  const lines = r.stdout.trim().split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

async function get(url: string, key: string, path: string, to: string): Promise<void> {
  if (!hasCurl) return void (await download(url, key, path, to));
  const r = await run('curl', ['-sS', '-f', '-o', to, '-H', `X-API-Key: ${key}`, `${url}/files/content?path=${encodeURIComponent(path)}`]);
  if (r.status !== 0) throw new Error(`curl: ${r.stderr}`);
}

/** A server that reads an upload's body and drops it: what taking the bytes in costs, nothing written. */
async function dropSink(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function main(): Promise<void> {
  const dir = tempDir('ar-bench-files-');
  const src = join(dir, 'src.bin');
  execFileSync('sh', ['-c', `head -c ${GiB} /dev/urandom > '${src}'`]);
  const cli = await spawnCli(['--files-root', dir, '--files-root', REPO]);
  const sink = await dropSink();
  try {
    const cp: number[] = [];
    const cat: number[] = [];
    const dd: number[] = [];
    const up: number[] = [];
    const down: number[] = [];
    const drop: number[] = [];
    const upNew: number[] = [];
    const downNull: number[] = [];
    let upGrowth = 0;
    let downGrowth = 0;
    for (let i = 0; i < ROUNDS; i++) {
      execFileSync('sync');
      let t = performance.now();
      execFileSync('cp', [src, join(dir, 'cp.bin')]);
      cp.push(performance.now() - t);
      rmSync(join(dir, 'cp.bin'));
      execFileSync('sync');
      t = performance.now();
      execFileSync('sh', ['-c', `cat '${src}' > '${join(dir, 'cat.bin')}'`]);
      cat.push(performance.now() - t);
      rmSync(join(dir, 'cat.bin'));
      // The floor of any atomic replace from user space (what the server does): write a temporary file
      // through read/write (cp copies in the kernel, which no network server can), then rename it over.
      execFileSync('sync');
      t = performance.now();
      execFileSync('sh', ['-c', `dd if='${src}' of='${join(dir, 'dd.tmp')}' bs=1M 2>/dev/null && mv '${join(dir, 'dd.tmp')}' '${join(dir, 'dd.bin')}'`]);
      dd.push(performance.now() - t);
      execFileSync('sync');
      let rss = rssSampler(cli.child.pid!);
      t = performance.now();
      const u = await put(cli.url, cli.key, src, join(dir, 'up.bin'));
      up.push(performance.now() - t);
      upGrowth = Math.max(upGrowth, rss.stop() - rss.baseline);
      if (u.status > 201) throw new Error(`upload: ${u.status} ${u.body}`);
      execFileSync('sync');
      rss = rssSampler(cli.child.pid!);
      t = performance.now();
      await get(cli.url, cli.key, join(dir, 'up.bin'), join(dir, 'down.bin'));
      down.push(performance.now() - t);
      downGrowth = Math.max(downGrowth, rss.stop() - rss.baseline);
      rmSync(join(dir, 'down.bin'));
      t = performance.now();
      await get(cli.url, cli.key, join(dir, 'up.bin'), '/dev/null');
      downNull.push(performance.now() - t);
      t = performance.now();
      await put(sink.url, cli.key, src, 'dropped');
      drop.push(performance.now() - t);
      // Like for like with cp, which writes a new file: the same upload to a name that does not exist yet
      // (no rename over an old file, so ext4 neither flushes the new one early nor frees the old one's blocks).
      execFileSync('sync');
      t = performance.now();
      const n = await put(cli.url, cli.key, src, join(dir, 'new.bin'));
      upNew.push(performance.now() - t);
      if (n.status !== 201) throw new Error(`upload to a new name: ${n.status} ${n.body}`);
      rmSync(join(dir, 'new.bin'));
    }
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    const rate = (msTaken: number) => `${(GiB / 2 ** 20 / (msTaken / 1000)).toFixed(0)} MiB/s`;
    console.log(`1 GiB transfers (median of ${ROUNDS}; client: ${hasCurl ? 'curl' : 'node'}):`);
    line('cp (baseline)', rate(median(cp)), ms(median(cp)));
    line('cat into a new file (user space)', rate(median(cat)), `${(median(cp) / median(cat)).toFixed(2)}x cp's throughput`);
    line('dd bs=1M to a temp file + mv over (floor)', rate(median(dd)), `${(median(cp) / median(dd)).toFixed(2)}x cp's throughput`);
    line(
      'PUT /files/content',
      rate(median(up)),
      `${(median(cp) / median(up)).toFixed(2)}x cp's throughput (target >= 0.5x), ${(median(dd) / median(up)).toFixed(2)}x the floor`,
    );
    line('PUT /files/content to a new name', rate(median(upNew)), `${(median(cp) / median(upNew)).toFixed(2)}x cp's throughput (cp also writes a new name)`);
    line('the same upload to a Node server that drops it', rate(median(drop)), `${(median(cp) / median(drop)).toFixed(2)}x cp's throughput (nothing written)`);
    line(
      'GET /files/content',
      rate(median(down)),
      `${(median(cp) / median(down)).toFixed(2)}x cp's throughput (target >= 0.5x), ${(median(cat) / median(down)).toFixed(2)}x cat's`,
    );
    line('GET /files/content to /dev/null', rate(median(downNull)), `${(median(cp) / median(downNull)).toFixed(2)}x cp's throughput (the server's side alone)`);
    line('server RSS growth, upload', mib(upGrowth), '(target <= 64 MiB)');
    line('server RSS growth, download', mib(downGrowth), '(target <= 64 MiB)');

    const client = jsonClient(cli.url, cli.key);
    const direct: number[] = [];
    const api: number[] = [];
    let count = 0;
    for (let i = 0; i < SEARCHES; i++) {
      let t = performance.now();
      const r = spawnSync('rg', ['--json', ...rgRuleArgs(true), '-e', PATTERN, '--', REPO], { maxBuffer: 1 << 30 });
      direct.push(performance.now() - t);
      if (r.status !== 0) throw new Error(`rg: ${r.stderr}`);
      t = performance.now();
      const a = await client.call('GET', `/files/search?path=${encodeURIComponent(REPO)}&pattern=${encodeURIComponent(PATTERN)}&limit=10000`);
      api.push(performance.now() - t);
      count = a.matches.length;
    }
    console.log(`search of this repository for /${PATTERN}/ (${count} matches, median of ${SEARCHES}):`);
    line('rg run directly (baseline)', ms(median(direct)));
    line('GET /files/search', ms(median(api)), `${(median(api) / median(direct)).toFixed(2)}x rg's time (target <= 1.5x)`);
    client.close();
  } finally {
    sink.close();
    await cli.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
