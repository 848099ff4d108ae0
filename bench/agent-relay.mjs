// Sits between a client and a real agent in agents.bench.ts, on both sides alike (ours and the SDK client):
// `node agent-relay.mjs LOG PROGRAM ARGS...` runs the agent with the relay's stdin/stdout passed through
// byte for byte (stderr is the relay's own, so each side keeps its stderr handling), and watches the
// JSON-RPC lines go by. When the agent answers `session/prompt` it writes LOG (JSON): the turn as the agent
// saw it, how long the client took to answer the agent's requests in it (the client's part of the turn,
// which load on the machine does not blur), and, on Linux, the CPU time the agent's processes used and the
// time they waited for a CPU (run queue) meanwhile, from /proc/PID/task/*/schedstat (of the processes still
// there at the answer: a command the agent ran and that ended is not counted).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [log, program, ...args] = process.argv.slice(2);
const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'inherit'] });

/** CPU and run-queue time (ms) by pid of `root` and its descendants, or null where /proc does not tell. */
function schedTimes(root) {
  try {
    const children = new Map();
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
      } catch {
        // gone meanwhile
      }
    }
    const times = new Map();
    for (const queue = [root]; queue.length > 0;) {
      const pid = queue.pop();
      queue.push(...(children.get(pid) ?? []));
      try {
        const t = { cpu: 0, wait: 0 };
        for (const task of readdirSync(`/proc/${pid}/task`)) {
          const [run, waited] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ').map(Number);
          t.cpu += run / 1e6;
          t.wait += waited / 1e6;
        }
        times.set(pid, t);
      } catch {
        // gone meanwhile
      }
    }
    return times;
  } catch {
    return null;
  }
}

/** What the processes alive at the end used since `before` (those that ended meanwhile are not counted). */
function schedSince(before, now) {
  let cpu = 0;
  let wait = 0;
  for (const [pid, t] of now) {
    const b = before.get(pid) ?? { cpu: 0, wait: 0 };
    cpu += t.cpu - b.cpu;
    wait += t.wait - b.wait;
  }
  return { agentCpuMs: cpu, agentRunQueueMs: wait };
}

let promptId;
let promptAt = 0;
let schedAtPrompt = null;
let clientMs = 0;
const asked = new Map(); // the agent's requests waiting for the client's answer: id -> when
const answers = [];

function watch(from, onLine) {
  let rest = '';
  return (chunk) => {
    const text = rest + chunk.toString('utf8');
    const lines = text.split('\n');
    rest = lines.pop();
    for (const l of lines) {
      let msg;
      try {
        msg = JSON.parse(l);
      } catch {
        continue;
      }
      onLine(msg, performance.now(), from);
    }
  };
}

// passed on first (listeners run in order), looked at after
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
process.stdin.on(
  'data',
  watch('client', (msg, t) => {
    if (msg.method === 'session/prompt') {
      promptId = msg.id;
      promptAt = t;
      schedAtPrompt = schedTimes(child.pid);
    } else if (msg.method === undefined && asked.has(msg.id)) {
      const ms = t - asked.get(msg.id).t;
      clientMs += ms;
      answers.push({ method: asked.get(msg.id).method, ms });
      asked.delete(msg.id);
    }
  }),
);
child.stdout.on(
  'data',
  watch('agent', (msg, t) => {
    if (promptId === undefined) return;
    if (msg.method !== undefined && msg.id !== undefined) asked.set(msg.id, { t, method: msg.method });
    else if (msg.method === undefined && msg.id === promptId) {
      const now = schedTimes(child.pid);
      const sched = now && schedAtPrompt ? schedSince(schedAtPrompt, now) : {};
      writeFileSync(log, JSON.stringify({ turnMs: t - promptAt, clientMs, answers, ...sched }));
      promptId = undefined;
    }
  }),
);
child.stdin.on('error', () => {});
process.stdout.on('error', () => {});
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'];
for (const s of SIGNALS) process.on(s, () => child.kill(s));
child.on('exit', (code, signal) => {
  if (signal === null) process.exit(code ?? 1);
  for (const s of SIGNALS) process.removeAllListeners(s);
  process.kill(process.pid, signal);
});
