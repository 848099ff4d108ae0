// Property-based fuzzing of the terminal WebSocket's frames (ws-cases.ts says what and how), on the
// command port's /terminal/ws and on the terminal port, with a fixed seed; `npm run bench -- fuzz` runs
// more with a random seed.
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { describeWsCase, runWsCase, wsCase } from './ws-cases';
import { startFuzzTarget, type FuzzTarget } from './target';

const SEED = 20261206;
const RUNS = 100;

describe('terminal WebSocket fuzzing', () => {
  let target: FuzzTarget;
  before(async () => {
    target = await startFuzzTarget(64 * 1024);
  });
  after(() => target.stop());

  it(`keeps ${RUNS} sessions of generated frames alive, answered and echoing, and loses nothing`, { timeout: 120_000 }, async () => {
    const urls = { command: target.url.replace(/^http/, 'ws'), terminal: `ws://${target.host}:${target.terminalPort}` };
    await fc.assert(
      fc.asyncProperty(wsCase, async (c) => {
        const problems = await runWsCase(c, urls, target.key);
        if (problems.length) throw new Error(`${problems.join('; ')}\n  ${describeWsCase(c)}`);
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
    await target.checkIntact();
  });
});
