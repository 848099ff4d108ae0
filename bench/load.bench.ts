// Many clients at once against the real CLI on loopback (CONTRACT §8: no client can hurt the others):
// submitters (`POST /exec` of a short command, then a long-poll until it is final), long-pollers following
// a job that prints for seconds (`GET /jobs/{id}?wait=&stdoutFrom=`), SSE readers (`GET /jobs/{id}/stream`,
// half of them slow), and terminal echo over the WebSocket (`cat` in the session). Meanwhile one prober
// asks `/health` every 25 ms; its latency, before the load (the same-run baseline) and under it, and the
// server's RSS at the start and the end are printed, with the errors (must be 0) and the requests done.
//
// LOAD_CLIENTS (default 64) and LOAD_SECONDS (default 60) size the run: `LOAD_SECONDS=10 npm run bench -- load`;
// LOAD_JOBS_KEPT sets the server's job limit (default 2000, see below).
import { request, Agent, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { spawnCli, tempDir } from '../test/helpers/server';
import { line, ms, rssMiB, summary } from './lib';

const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 64);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
/**
 * The server's job limit (`--max-jobs-kept`). Not its default (500): under this churn the run passes 500
 * jobs every few seconds, and a job that finished a moment ago can be forgotten before the client that
 * follows it polls again (a 404 for its final status). 2000 keeps the store bounded, so its growth is not
 * read as a leak, and leaves 20 s or so between a job's end and its forgetting.
 */
const JOBS_KEPT = process.env.LOAD_JOBS_KEPT ?? '2000';
/** After the deadline, how long the requests in flight get to finish before they count as hung. */
const DRAIN_MS = 15_000;

type Role = 'submit' | 'long-poll' | 'sse' | 'sse-slow' | 'terminal';
// Half the clients submit; the rest split evenly between the four kinds of readers.
const ROLES: Role[] = ['submit', 'long-poll', 'submit', 'sse', 'submit', 'sse-slow', 'submit', 'terminal'];

const errors: string[] = [];
let requests = 0;
let deadline = 0;
const fail = (what: string) => {
  errors.push(what);
  if (errors.length <= 10) console.log(`  error: ${what}`);
};

interface Reply {
  status: number;
  body: any;
}

function makeCall(base: string, key: string, agent: Agent) {
  return (method: string, path: string, body?: unknown): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string | number> = { 'x-api-key': key };
      if (data !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      const req = request(base + path, { method, agent, headers, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          requests++;
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            reject(new Error(`${method} ${path} -> ${res.statusCode}: not JSON: ${text.slice(0, 200)}`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(data);
    });
}

type Call = ReturnType<typeof makeCall>;
const FINAL = ['completed', 'failed', 'timeout'];

async function submit(call: Call, command: string): Promise<string> {
  const r = await call('POST', '/exec', { command });
  if (r.status !== 202) throw new Error(`POST /exec -> ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.jobId;
}

/** Submits `echo` and long-polls it to the end; checks what it printed. */
async function submitter(call: Call, id: number): Promise<void> {
  for (let n = 0; performance.now() < deadline; n++) {
    const word = `load-${id}-${n}`;
    const jobId = await submit(call, `echo ${word}`);
    let job: any;
    do {
      const r = await call('GET', `/jobs/${jobId}?wait=5`);
      if (r.status !== 200) throw new Error(`GET /jobs/${jobId} -> ${r.status}`);
      job = r.body;
    } while (!FINAL.includes(job.status));
    if (job.status !== 'completed' || job.stdout !== `${word}\n`) throw new Error(`job ${jobId}: ${job.status} ${JSON.stringify(job.stdout)}`);
  }
}

/** Follows a job that prints a line every 50 ms for 4 s, by offsets; checks nothing is lost or repeated. */
async function longPoller(call: Call): Promise<void> {
  while (performance.now() < deadline) {
    const jobId = await submit(call, 'for i in $(seq 1 80); do echo line-$i; sleep 0.05; done');
    let text = '';
    let job: any;
    do {
      const r = await call('GET', `/jobs/${jobId}?wait=5&stdoutFrom=${Buffer.byteLength(text)}`);
      if (r.status !== 200) throw new Error(`GET /jobs/${jobId} -> ${r.status}`);
      job = r.body;
      text += job.stdout;
    } while (!FINAL.includes(job.status));
    const expected = Array.from({ length: 80 }, (_, i) => `line-${i + 1}\n`).join('');
    if (job.status !== 'completed' || text !== expected)
      throw new Error(`long-polled job ${jobId}: ${job.status}, ${text.length} of ${expected.length} characters as printed`);
  }
}

/** Reads a job's event stream to its `end` event; a slow reader waits 200 ms after every chunk. */
function readStream(base: string, key: string, jobId: string, slow: boolean): Promise<{ bytes: number; ended: boolean }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let tail = '';
    let ended = false;
    let headers = false;
    const failed = (e: Error) =>
      reject(new Error(`stream of ${jobId}: ${e.message} after ${headers ? `${bytes} characters${ended ? ', its end event included' : ''}` : 'no answer'}`));
    const req = request(`${base}/jobs/${jobId}/stream`, { headers: { 'x-api-key': key }, agent: false, timeout: 30_000 }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /jobs/${jobId}/stream -> ${res.statusCode}`));
      headers = true;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        bytes += chunk.length;
        tail = (tail + chunk).slice(-4096);
        if (!ended && /(^|\n)event: end\n/.test(tail)) ended = true;
        if (slow) {
          res.pause();
          setTimeout(() => res.resume(), 200);
        }
      });
      res.on('end', () => {
        requests++;
        resolve({ bytes, ended });
      });
      res.on('error', failed);
    });
    req.on('timeout', () => req.destroy(new Error('nothing for 30 s')));
    req.on('error', failed);
    req.end();
  });
}

/** Streams jobs that print about 600 KB (beyond what the sockets buffer, so a slow reader holds the server back). */
async function sseReader(base: string, key: string, call: Call, slow: boolean): Promise<void> {
  while (performance.now() < deadline) {
    const jobId = await submit(call, 'seq 1 100000');
    const { bytes, ended } = await readStream(base, key, jobId, slow);
    if (!ended) throw new Error(`stream of ${jobId} closed after ${bytes} characters without its end event`);
  }
}

/** Types a line into a terminal running `cat` and waits for it to come back, again and again. */
async function terminal(wsBase: string, key: string, id: number): Promise<void> {
  const ws = new WebSocket(`${wsBase}/terminal/ws`, { headers: { 'X-API-Key': key }, perMessageDeflate: false });
  let output = '';
  let closed: string | undefined;
  ws.on('message', (d) => {
    output = (output + d.toString()).slice(-8192);
  });
  ws.on('close', (code, reason) => (closed = `${code} ${reason}`));
  ws.on('error', (e) => (closed ??= e.message));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error(`terminal ${id}: refused (${closed})`)));
  });
  try {
    for (let n = 0; performance.now() < deadline; n++) {
      const word = `echo-${id}-${n}`;
      ws.send(JSON.stringify({ type: 'input', data: `${word}\r` }));
      const until = performance.now() + 10_000;
      while (!output.includes(word)) {
        if (closed) throw new Error(`terminal ${id}: closed (${closed})`);
        if (performance.now() > until) throw new Error(`terminal ${id}: ${word} not echoed in 10 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      requests++;
      await new Promise((r) => setTimeout(r, 20)); // a person types; 64 clients spinning would only measure the loop
    }
  } finally {
    ws.close(1000);
  }
}

async function probeHealth(call: Call, until: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  while (!until()) {
    const t = performance.now();
    const r = await call('GET', '/health');
    samples.push(performance.now() - t);
    if (r.status !== 200 || r.body.status !== 'ok') fail(`/health -> ${r.status}`);
    await new Promise((res) => setTimeout(res, 25));
  }
  return samples;
}

async function main(): Promise<void> {
  console.log(`${CLIENTS} clients for ${SECONDS} s (LOAD_CLIENTS, LOAD_SECONDS)`);
  const cli = await spawnCli([
    '--state-dir',
    tempDir('ar-load-'),
    '--terminal-port',
    '-1',
    '--terminal-shell',
    '/bin/cat',
    '--terminal-max-sessions',
    String(Math.max(2, CLIENTS)),
    '--max-jobs-kept',
    JOBS_KEPT,
  ]);
  const pid = cli.child.pid!;
  const base = cli.url;
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const probe = makeCall(base, cli.key, probeAgent);
  try {
    const rssStart = rssMiB(pid).rss;
    const idleUntil = performance.now() + 3000;
    const idleSamples = await probeHealth(probe, () => performance.now() > idleUntil);
    const idle = summary(idleSamples);

    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS * 2 });
    const call = makeCall(base, cli.key, agent);
    const started = performance.now();
    deadline = started + SECONDS * 1000;
    let rssWarm = 0;
    const warm = setTimeout(() => (rssWarm = rssMiB(pid).rss), Math.min(10_000, (SECONDS * 1000) / 6));
    const counts: Record<Role, number> = { submit: 0, 'long-poll': 0, sse: 0, 'sse-slow': 0, terminal: 0 };
    const clients = Array.from({ length: CLIENTS }, (_, i) => {
      const role = ROLES[i % ROLES.length];
      counts[role]++;
      const run =
        role === 'submit'
          ? submitter(call, i)
          : role === 'long-poll'
            ? longPoller(call)
            : role === 'sse' || role === 'sse-slow'
              ? sseReader(base, cli.key, call, role === 'sse-slow')
              : terminal(base.replace(/^http/, 'ws'), cli.key, i);
      return run.catch((e: Error) => fail(`${role} client ${i}: ${e.message}`));
    });
    let done = false;
    const all = Promise.all(clients).then(() => (done = true));
    const loaded = probeHealth(probe, () => done || performance.now() > deadline + DRAIN_MS);
    await Promise.race([all, new Promise((r) => setTimeout(r, SECONDS * 1000 + DRAIN_MS))]);
    if (!done) fail(`clients still busy ${DRAIN_MS / 1000} s after the end: a hang`);
    const loadedSamples = await loaded;
    const underLoad = summary(loadedSamples);
    clearTimeout(warm);
    const elapsed = (performance.now() - started) / 1000;
    const rssEnd = rssMiB(pid);
    const jobs = (await probe('GET', '/health')).body.jobs;
    agent.destroy();

    console.log(
      `clients: ${Object.entries(counts)
        .map(([r, n]) => `${n} ${r}`)
        .join(', ')}`,
    );
    line('errors', String(errors.length), errors.length ? 'FAIL' : 'must be 0');
    line('requests done (HTTP, SSE streams, terminal echoes)', String(requests), `${(requests / elapsed).toFixed(0)}/s over ${elapsed.toFixed(1)} s`);
    line('jobs the server holds at the end', JSON.stringify(jobs));
    line('/health idle          p50 / p99', `${ms(idle.p50)} / ${ms(idle.p99)}`, `${idleSamples.length} probes before the load: the baseline`);
    line(
      '/health under load    p50 / p99',
      `${ms(underLoad.p50)} / ${ms(underLoad.p99)}`,
      `${loadedSamples.length} probes, max ${ms(Math.max(...loadedSamples))}`,
    );
    line('/health p99 under load / idle', `${(underLoad.p99 / idle.p99).toFixed(1)}x`);
    line(
      'server RSS start → warm → end',
      `${rssStart.toFixed(0)} → ${rssWarm.toFixed(0)} → ${rssEnd.rss.toFixed(0)} MiB`,
      `peak ${rssEnd.peak.toFixed(0)} MiB; end / warm ${(rssEnd.rss / (rssWarm || rssStart)).toFixed(2)}x`,
    );
    if (errors.length) {
      const logged = cli
        .stderr()
        .split('\n')
        .filter((l) => / (error|warn) /.test(l));
      console.log(`  the server logged ${logged.length} errors and warnings${logged.length ? `; the last:\n    ${logged.slice(-8).join('\n    ')}` : ''}`);
    }
  } finally {
    probeAgent.destroy();
    await cli.stop();
  }
  if (errors.length) process.exitCode = 1;
}

void main();
