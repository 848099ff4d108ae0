// A long fuzzing run that keeps going past failures and gathers them, one example per kind of failure
// (the bench's way; the tests stop at the first, shrunk). Kinds: the problem, the route and the key.
import fc from 'fast-check';
import { describeCase, httpCase, judge, sendRaw, serialize, type Route } from './http-cases';
import type { FuzzTarget } from './target';
import { describeWsCase, runWsCase, wsCase } from './ws-cases';

export interface Finding {
  kind: string;
  count: number;
  example: string;
}

/** Sends `runs` generated requests to the command port, or with `terminalPort` to the terminal port. */
export async function httpCampaign(
  target: FuzzTarget,
  routes: Route[],
  maxBodyBytes: number,
  seed: number,
  runs: number,
  terminalPort = false,
): Promise<Finding[]> {
  const found = new Map<string, Finding>();
  const port = terminalPort ? target.terminalPort : target.port;
  const cases = fc.sample(httpCase(routes, { id: [target.stored.id] }, maxBodyBytes), { seed, numRuns: runs });
  for (const c of cases) {
    const r = await sendRaw(target.host, port, serialize(c, target.host, port, target.key), 10_000, c.framing === 'long');
    for (const problem of judge(c, r, !terminalPort)) {
      const kind = `${problem.replace(/\(.*\)/, '')} · ${c.route} · key ${c.key}`;
      const f = found.get(kind);
      if (f) f.count++;
      else found.set(kind, { kind, count: 1, example: describeCase(c, r) });
    }
    if (target.child.exitCode !== null || target.child.signalCode !== null) {
      found.set('the server exited', { kind: 'the server exited', count: 1, example: `${describeCase(c, r)}\n${target.log()}` });
      break;
    }
  }
  return [...found.values()];
}

export async function wsCampaign(target: FuzzTarget, seed: number, runs: number): Promise<Finding[]> {
  const found = new Map<string, Finding>();
  const urls = { command: target.url.replace(/^http/, 'ws'), terminal: `ws://${target.host}:${target.terminalPort}` };
  for (const c of fc.sample(wsCase, { seed, numRuns: runs })) {
    for (const problem of await runWsCase(c, urls, target.key)) {
      const kind = `${problem.replace(/\d+ pongs for \d+ pings/, 'pongs missing')} · ${c.port} port`;
      const f = found.get(kind);
      if (f) f.count++;
      else found.set(kind, { kind, count: 1, example: describeWsCase(c) });
    }
    if (target.child.exitCode !== null || target.child.signalCode !== null) {
      found.set('the server exited', { kind: 'the server exited', count: 1, example: `${describeWsCase(c)}\n${target.log()}` });
      break;
    }
  }
  return [...found.values()];
}
