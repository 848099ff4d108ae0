// Our ACP client against a client built on the official SDK (`@agentclientprotocol/sdk`, ClientApp over
// ndJsonStream), same agent, same run: a turn that streams 10,000 message chunks and 1,000 tool-call
// updates. Each client runs in its own process (so peak memory is its own), alternating, several rounds.
// Figures: turn wall time (prompt sent → answer, all updates handled) and peak RSS. Target: ≤ 1.2× time.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { script, scriptedAgent, tempWorkdir } from '../test/acp/helpers';
import { line, ms, summary } from './lib';

const CHUNKS = 10_000;
const TOOL_UPDATES = 1_000;
const ROUNDS = 5;
const FLOOD = script({ flood: { chunks: CHUNKS, toolUpdates: TOOL_UPDATES } });

interface Measure {
  turnMs: number;
  updates: number;
  textBytes: number;
  peakRssMiB: number;
}

function peakRssMiB(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
}

async function ours(agent: string[], workdir: string): Promise<Measure> {
  const { AcpClient } = await import('../src/acp');
  let updates = 0;
  const client = new AcpClient({ agent, workdir, onEvent: (e) => void (e.type === 'update' && updates++) });
  try {
    await client.start();
    const t0 = performance.now();
    const turn = await client.prompt(FLOOD);
    const turnMs = performance.now() - t0;
    if (turn.stopReason !== 'end_turn') throw new Error(`ours: ${turn.stopReason} ${turn.error}`);
    return { turnMs, updates, textBytes: Buffer.byteLength(turn.outputText), peakRssMiB: peakRssMiB() };
  } finally {
    await client.close();
  }
}

async function sdk(agent: string[], workdir: string): Promise<Measure> {
  const acp = await import('@agentclientprotocol/sdk');
  const child = spawn(agent[0], agent.slice(1), { cwd: workdir, stdio: ['pipe', 'pipe', 'inherit'] });
  let updates = 0;
  let text = '';
  const app = acp.client({ name: 'bench' }).onNotification('session/update', ({ params }) => {
    updates++;
    const u = params.update;
    if (u.sessionUpdate === 'agent_message_chunk' && u.content.type === 'text') text += u.content.text;
  });
  const stream = acp.ndJsonStream(Writable.toWeb(child.stdin!) as WritableStream<Uint8Array>, Readable.toWeb(child.stdout!) as ReadableStream<Uint8Array>);
  try {
    return await app.connectWith(stream, async (ctx) => {
      await ctx.request('initialize', { protocolVersion: acp.PROTOCOL_VERSION, clientCapabilities: {} });
      const { sessionId } = await ctx.request('session/new', { cwd: workdir, mcpServers: [] });
      const t0 = performance.now();
      const res = await ctx.request('session/prompt', { sessionId, prompt: [{ type: 'text', text: FLOOD }] });
      const turnMs = performance.now() - t0;
      if (res.stopReason !== 'end_turn') throw new Error(`sdk: ${res.stopReason}`);
      return { turnMs, updates, textBytes: Buffer.byteLength(text), peakRssMiB: peakRssMiB() };
    });
  } finally {
    child.kill();
  }
}

/** One measurement in a fresh process, so its memory is its own. */
function measureInChild(which: 'ours' | 'sdk'): Measure {
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, which], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${which} run failed (${r.status}): ${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main() {
  const which = process.argv[2];
  if (which === 'ours' || which === 'sdk') {
    const workdir = tempWorkdir('acp-bench-');
    try {
      const m = await (which === 'ours' ? ours : sdk)(scriptedAgent(), workdir);
      process.stdout.write(`${JSON.stringify(m)}\n`);
    } finally {
      rmSync(workdir, { recursive: true, force: true });
    }
    return;
  }
  scriptedAgent(); // bundle the agent once, before timing anything
  const results: Record<'ours' | 'sdk', Measure[]> = { ours: [], sdk: [] };
  measureInChild('ours'); // warm the disk cache
  for (let i = 0; i < ROUNDS; i++) {
    for (const w of i % 2 ? (['sdk', 'ours'] as const) : (['ours', 'sdk'] as const)) results[w].push(measureInChild(w));
  }
  for (const w of ['ours', 'sdk'] as const) {
    const m = results[w][0];
    if (m.updates !== CHUNKS + 1 + TOOL_UPDATES) throw new Error(`${w} saw ${m.updates} updates, expected ${CHUNKS + 1 + TOOL_UPDATES}`);
  }
  const time = { ours: summary(results.ours.map((m) => m.turnMs)), sdk: summary(results.sdk.map((m) => m.turnMs)) };
  const peak = { ours: summary(results.ours.map((m) => m.peakRssMiB)), sdk: summary(results.sdk.map((m) => m.peakRssMiB)) };
  console.log(`a turn of ${CHUNKS} message chunks + ${TOOL_UPDATES} tool-call updates, ${ROUNDS} rounds each (median)`);
  line('turn wall time, ours', ms(time.ours.p50));
  line('turn wall time, official SDK client', ms(time.sdk.p50));
  line('ratio ours / SDK (target ≤ 1.2)', `${(time.ours.p50 / time.sdk.p50).toFixed(2)}x`);
  line('peak RSS of the client process, ours', `${peak.ours.p50.toFixed(1)} MiB`);
  line('peak RSS of the client process, official SDK', `${peak.sdk.p50.toFixed(1)} MiB`);
  line('ratio ours / SDK', `${(peak.ours.p50 / peak.sdk.p50).toFixed(2)}x`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
