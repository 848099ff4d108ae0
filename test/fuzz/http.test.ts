// Property-based fuzzing of every HTTP route (from the server's own `GET /openapi.json`), with a fixed
// seed so a failure here is the same failure everywhere; `npm run bench -- fuzz` runs many more cases
// with a random seed it prints. See http-cases.ts for what is generated and what is checked.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeCase, httpCase, judge, routesFrom, sendRaw, serialize, type Route } from './http-cases';
import { jsonCall, startFuzzTarget, type FuzzTarget } from './target';

const SEED = 20261206;
const RUNS = 600;
const TERMINAL_PORT_RUNS = 200;
const MAX_BODY_BYTES = 64 * 1024;

describe('HTTP fuzzing', () => {
  let target: FuzzTarget;
  let routes: Route[];
  before(async () => {
    target = await startFuzzTarget(MAX_BODY_BYTES);
    routes = routesFrom((await jsonCall(target.url, 'GET', '/openapi.json')).body);
  });
  after(() => target.stop());

  it('covers every route the server describes', () => {
    const served = routes.map((r) => `${r.method} ${r.template}`);
    for (const expected of ['GET /health', 'POST /exec', 'GET /jobs/{id}', 'GET /jobs/{id}/stream', 'GET /terminal/assets/{name}']) {
      assert.ok(served.includes(expected), `${expected} in ${served.join(', ')}`);
    }
  });

  it(`answers ${RUNS} generated requests with no 5xx, drop, hang or leak, and loses nothing`, { timeout: 120_000 }, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(httpCase(routes, { id: [target.stored.id] }, MAX_BODY_BYTES), async (c) => {
        const r = await sendRaw(target.host, target.port, serialize(c, target.host, target.port, target.key), 10_000, c.framing === 'long');
        const problems = judge(c, r);
        if (problems.length) throw new Error(`${problems.join('; ')}\n  ${describeCase(c, r)}`);
        if (++n % 100 === 0) await target.checkIntact();
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
    await target.checkIntact();
  });

  it(`answers ${TERMINAL_PORT_RUNS} generated requests on the terminal port the same way`, { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(httpCase(routes, { id: [target.stored.id] }, MAX_BODY_BYTES), async (c) => {
        const r = await sendRaw(target.host, target.terminalPort, serialize(c, target.host, target.terminalPort, target.key), 10_000, c.framing === 'long');
        const problems = judge(c, r, false);
        if (problems.length) throw new Error(`${problems.join('; ')}\n  ${describeCase(c, r)}`);
      }),
      { seed: SEED, numRuns: TERMINAL_PORT_RUNS, includeErrorInReport: true },
    );
    await target.checkIntact();
  });
});
