// The fuzzers of test/fuzz at length: many more generated HTTP requests and WebSocket sessions than
// `npm test` runs (and a fifth as many HTTP requests to the terminal port), with a random seed, printed
// (FUZZ_SEED=N replays a run; FUZZ_HTTP_RUNS and FUZZ_WS_RUNS set the counts). Against the real CLI on
// loopback, with its default body limit (1 MiB). Prints every kind of failure found, once, with an
// example; exits 1 if there was any.
import { excused } from '../test/fuzz/known-defects';
import { httpCampaign, wsCampaign, type Finding } from '../test/fuzz/campaign';
import { routesFrom } from '../test/fuzz/http-cases';
import { jsonCall, startFuzzTarget } from '../test/fuzz/target';
import { line, rssMiB } from './lib';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const httpRuns = Number(process.env.FUZZ_HTTP_RUNS ?? 5000);
const wsRuns = Number(process.env.FUZZ_WS_RUNS ?? 500);
const MAX_BODY_BYTES = 1 << 20;

async function main(): Promise<void> {
  console.log(`fuzz: seed ${seed} (FUZZ_SEED=${seed} replays it), ${httpRuns} HTTP requests, ${wsRuns} WebSocket sessions`);
  const target = await startFuzzTarget(MAX_BODY_BYTES);
  let failed = false;
  try {
    const routes = routesFrom((await jsonCall(target.url, 'GET', '/openapi.json')).body);
    const rss0 = rssMiB(target.child.pid!).rss;
    const report = (what: string, findings: Finding[], ms: number, runs: number) => {
      line(`${what}: runs`, String(runs), `${(ms / runs || 0).toFixed(1)} ms each`);
      line(`${what}: kinds of failure`, String(findings.length), findings.length ? 'FAIL' : 'ok');
      for (const f of findings) console.log(`    ${f.count}× ${f.kind}\n      e.g. ${f.example.slice(0, 1500)}`);
      failed ||= findings.length > 0;
    };
    let t0 = Date.now();
    report('HTTP', await httpCampaign(target, routes, MAX_BODY_BYTES, seed, httpRuns), Date.now() - t0, httpRuns);
    t0 = Date.now();
    const terminalRuns = Math.ceil(httpRuns / 5);
    report('HTTP, terminal port', await httpCampaign(target, routes, MAX_BODY_BYTES, seed, terminalRuns, true), Date.now() - t0, terminalRuns);
    t0 = Date.now();
    report('WebSocket', await wsCampaign(target, seed, wsRuns), Date.now() - t0, wsRuns);
    for (const [what, n] of excused) line(`excused as a known defect: ${what}`, String(n), '(test/fuzz/known-defects.ts)');
    try {
      await target.checkIntact();
      line('afterwards: healthy, stored job intact, new job runs', 'yes');
    } catch (err) {
      line('afterwards: healthy, stored job intact, new job runs', 'NO', (err as Error).message);
      failed = true;
    }
    line('server RSS before → after', `${rss0.toFixed(0)} → ${rssMiB(target.child.pid!).rss.toFixed(0)} MiB`);
  } finally {
    await target.stop();
  }
  if (failed) process.exitCode = 1;
}

void main();
