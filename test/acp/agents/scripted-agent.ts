// A real ACP agent for tests, built on the official SDK (`@agentclientprotocol/sdk`) and run as its own
// process. What it does in a turn is scripted by the prompt: a JSON array of steps (see `Step`); any other
// prompt is echoed back. What it is (auth, load/resume, config options, protocol version, startup
// faults) comes from TEST_AGENT_* environment variables (see `env` below).
import * as acp from '@agentclientprotocol/sdk';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';

type Step =
  | { say: string }
  | { think: string }
  | { tool: Record<string, unknown> }
  | { toolUpdate: Record<string, unknown> }
  | { permission: { toolCall: Record<string, unknown>; options?: acp.PermissionOption[] } }
  | { read: { path: string; line?: number; limit?: number } }
  | { write: { path: string; content: string } }
  | { terminal: { command: string; args?: string[]; cwd?: string; outputByteLimit?: number; env?: acp.EnvVariable[]; killAfterMs?: number; leave?: boolean } }
  | { update: Record<string, unknown> }
  | { sleep: number }
  | { waitCancel: true }
  | { hang: true; ignoreTerm?: boolean }
  | { crash: number }
  | { garbage: string }
  | { bigLine: number }
  | { stderr: string }
  | { spawnChild: true }
  | { stop: acp.StopReason }
  | { flood: { chunks: number; toolUpdates: number } }
  | { sayConfig: true }
  | { sayCapabilities: true }
  | { sayMcpServers: true }
  | { waitFile: string }
  | { callUnknown: string };

const env = {
  /** Comma-separated auth method ids; when set, sessions need `authenticate` first. `terminal:` marks interactive ones. */
  auth: process.env.TEST_AGENT_AUTH,
  load: process.env.TEST_AGENT_LOAD === '1',
  resume: process.env.TEST_AGENT_RESUME === '1',
  /** `config`: config options for model/effort/mode; `modes`: only legacy modes. */
  settings: process.env.TEST_AGENT_SETTINGS,
  protocol: Number(process.env.TEST_AGENT_PROTOCOL ?? acp.PROTOCOL_VERSION),
  /** `crash`, `hang` or `garbage`: how initialize goes wrong. */
  startup: process.env.TEST_AGENT_STARTUP,
  stateDir: process.env.TEST_AGENT_STATE_DIR ?? join(tmpdir(), 'acp-scripted-agent'),
  /** Comma-separated MCP transports it declares it takes beyond stdio (`http`, `sse`). */
  mcp: (process.env.TEST_AGENT_MCP ?? '').split(',').filter(Boolean),
  /** The name it gives in `initialize` (clients adapt to some agents by name). */
  name: process.env.TEST_AGENT_NAME ?? 'scripted-agent',
};

const DEFAULT_OPTIONS: acp.PermissionOption[] = [
  { optionId: 'always', name: 'Always allow', kind: 'allow_always' },
  { optionId: 'once', name: 'Allow once', kind: 'allow_once' },
  { optionId: 'never', name: 'Never', kind: 'reject_always' },
  { optionId: 'no', name: 'Reject', kind: 'reject_once' },
];

interface SessionState {
  cancelled: boolean;
  onCancel: (() => void)[];
  config: Record<string, string>;
  mode: string;
  /** The `mcpServers` the client gave when it opened (or loaded, or resumed) the session. */
  mcpServers?: unknown;
}

const sessions = new Map<string, SessionState>();
let authenticated = !env.auth;
let clientCapabilities: unknown;
let nextSession = 1;

function sessionState(id: string): SessionState {
  let s = sessions.get(id);
  if (!s) {
    s = { cancelled: false, onCancel: [], config: { model: 'fast', reasoning: 'low', mode: 'default' }, mode: 'default' };
    sessions.set(id, s);
  }
  return s;
}

function configOptions(s: SessionState): acp.SessionConfigOption[] | undefined {
  if (env.settings !== 'config') return undefined;
  const select = (id: string, name: string, category: string, values: string[]): acp.SessionConfigOption => ({
    id,
    name,
    category,
    type: 'select',
    currentValue: s.config[id],
    options: values.map((v) => ({ value: v, name: v.toUpperCase() })),
  });
  return [
    select('model', 'Model', 'model', ['fast', 'smart']),
    select('reasoning', 'Reasoning effort', 'thought_level', ['low', 'high']),
    select('mode', 'Mode', 'mode', ['default', 'read-only']),
  ];
}

function modes(s: SessionState): acp.SessionModeState | undefined {
  if (env.settings !== 'modes') return undefined;
  return {
    currentModeId: s.mode,
    availableModes: [
      { id: 'default', name: 'Default' },
      { id: 'read-only', name: 'Read only' },
    ],
  };
}

function authMethods(): acp.AuthMethod[] {
  return (env.auth ?? '')
    .split(',')
    .filter(Boolean)
    .map((id) => (id.startsWith('terminal:') ? { id: id.slice(9), name: id.slice(9), type: 'terminal' as const } : { id, name: id }));
}

function requireAuth(): void {
  if (!authenticated) throw acp.RequestError.authRequired();
}

function transcriptPath(id: string): string {
  return join(env.stateDir, `${id}.json`);
}

function loadTranscript(id: string): acp.SessionUpdate[] | undefined {
  try {
    return JSON.parse(readFileSync(transcriptPath(id), 'utf8'));
  } catch {
    return undefined;
  }
}

function saveTranscript(id: string, updates: acp.SessionUpdate[]): void {
  mkdirSync(env.stateDir, { recursive: true });
  writeFileSync(transcriptPath(id), JSON.stringify(updates));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rawLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function runSteps(ctx: { client: acp.AgentContext }, sessionId: string, steps: Step[], said: string[]): Promise<acp.StopReason> {
  const s = sessionState(sessionId);
  const update = (u: acp.SessionUpdate | Record<string, unknown>) => ctx.client.notify('session/update', { sessionId, update: u as acp.SessionUpdate });
  const say = async (text: string) => {
    said.push(text);
    await update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text } });
  };
  const errorText = (err: unknown) => {
    const e = err as { code?: number; message?: string };
    return `${e.code ?? ''}:${e.message ?? String(err)}`;
  };
  let stop: acp.StopReason = 'end_turn';
  for (const step of steps) {
    if (s.cancelled) return 'cancelled';
    if ('say' in step) await say(step.say);
    else if ('think' in step) await update({ sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: step.think } });
    else if ('tool' in step) await update({ sessionUpdate: 'tool_call', title: 'tool', ...step.tool });
    else if ('toolUpdate' in step) await update({ sessionUpdate: 'tool_call_update', ...step.toolUpdate });
    else if ('update' in step) await update(step.update);
    else if ('permission' in step) {
      try {
        const res = await ctx.client.request('session/request_permission', {
          sessionId,
          toolCall: step.permission.toolCall as acp.ToolCallUpdate,
          options: step.permission.options ?? DEFAULT_OPTIONS,
        });
        await say(`permission:${res.outcome.outcome}:${res.outcome.outcome === 'selected' ? res.outcome.optionId : ''}`);
      } catch (err) {
        await say(`permission:error:${errorText(err)}`);
      }
    } else if ('read' in step) {
      try {
        const res = await ctx.client.request('fs/read_text_file', { sessionId, ...step.read });
        await say(`read:ok:${res.content}`);
      } catch (err) {
        await say(`read:error:${errorText(err)}`);
      }
    } else if ('write' in step) {
      try {
        await ctx.client.request('fs/write_text_file', { sessionId, ...step.write });
        await say('write:ok');
      } catch (err) {
        await say(`write:error:${errorText(err)}`);
      }
    } else if ('terminal' in step) {
      const { killAfterMs, leave, ...create } = step.terminal;
      try {
        const { terminalId } = await ctx.client.request('terminal/create', { sessionId, ...create });
        if (leave) {
          await say(`terminal:left:${terminalId}`);
          continue;
        }
        if (killAfterMs !== undefined) {
          await sleep(killAfterMs);
          await ctx.client.request('terminal/kill', { sessionId, terminalId });
        }
        const exit = await ctx.client.request('terminal/wait_for_exit', { sessionId, terminalId });
        const out = await ctx.client.request('terminal/output', { sessionId, terminalId });
        await ctx.client.request('terminal/release', { sessionId, terminalId });
        let afterRelease = 'ok';
        try {
          await ctx.client.request('terminal/output', { sessionId, terminalId });
        } catch (err) {
          afterRelease = errorText(err);
        }
        await say(`terminal:${JSON.stringify({ exit, output: out.output, truncated: out.truncated, exitStatus: out.exitStatus, afterRelease })}`);
      } catch (err) {
        await say(`terminal:error:${errorText(err)}`);
      }
    } else if ('sleep' in step) await sleep(step.sleep);
    else if ('waitCancel' in step) {
      await new Promise<void>((r) => (s.cancelled ? r() : s.onCancel.push(r)));
      return 'cancelled';
    } else if ('hang' in step) {
      if (step.ignoreTerm) process.on('SIGTERM', () => {});
      await new Promise(() => {});
    } else if ('crash' in step) {
      process.exit(step.crash);
    } else if ('garbage' in step) rawLine(step.garbage);
    else if ('bigLine' in step) {
      const head =
        '{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"x","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"';
      const tail = '"}}}}';
      process.stdout.write(
        Buffer.concat([Buffer.from(head), Buffer.alloc(Math.max(0, step.bigLine - head.length - tail.length), 'a'), Buffer.from(`${tail}\n`)]),
      );
    } else if ('stderr' in step) process.stderr.write(`${step.stderr}\n`);
    else if ('spawnChild' in step) {
      const child = spawn('sleep', ['300'], { stdio: 'ignore' });
      await say(`child:${child.pid}`);
    } else if ('stop' in step) stop = step.stop;
    else if ('flood' in step) {
      for (let i = 0; i < step.flood.chunks; i++) {
        void update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: `chunk ${i} ` } });
        if (i % 10 === 0 && i / 10 < step.flood.toolUpdates) {
          const n = i / 10;
          void update({ sessionUpdate: 'tool_call_update', toolCallId: `t${n % 50}`, status: 'in_progress', rawOutput: { progress: n } });
        }
      }
      await update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'done' } });
    } else if ('sayConfig' in step) await say(`config:${JSON.stringify({ ...s.config, legacyMode: s.mode })}`);
    else if ('sayCapabilities' in step) await say(`capabilities:${JSON.stringify(clientCapabilities)}`);
    else if ('sayMcpServers' in step) await say(`mcpServers:${JSON.stringify(s.mcpServers)}`);
    else if ('waitFile' in step) {
      while (!existsSync(step.waitFile) && !s.cancelled) await sleep(20);
    } else if ('callUnknown' in step) {
      try {
        await ctx.client.request(step.callUnknown, { sessionId });
        await say('unknown:ok');
      } catch (err) {
        await say(`unknown:error:${errorText(err)}`);
      }
    }
  }
  return stop;
}

function parseSteps(prompt: acp.ContentBlock[]): { steps: Step[]; text: string } {
  const text = prompt.map((b) => (b.type === 'text' ? b.text : '')).join('');
  try {
    const parsed = JSON.parse(text);
    if (Array.isArray(parsed)) return { steps: parsed, text };
  } catch {
    // a plain prompt
  }
  return { steps: [{ say: `echo: ${text}` }], text };
}

async function replay(ctx: { client: acp.AgentContext }, sessionId: string): Promise<void> {
  const history = loadTranscript(sessionId);
  if (!history) throw acp.RequestError.sessionNotFound(sessionId);
  for (const u of history) await ctx.client.notify('session/update', { sessionId, update: u });
}

if (env.startup === 'crash') {
  process.stderr.write('scripted-agent: crashing on startup as asked\n');
  process.exit(3);
}

const app = acp
  .agent({ name: 'scripted-agent' })
  .onRequest('initialize', async ({ params }) => {
    clientCapabilities = params.clientCapabilities;
    if (env.startup === 'hang') await new Promise(() => {});
    if (env.startup === 'garbage') rawLine('this is not json');
    return {
      protocolVersion: env.protocol,
      agentCapabilities: {
        loadSession: env.load,
        sessionCapabilities: env.resume ? { resume: {} } : {},
        mcpCapabilities: { http: env.mcp.includes('http'), sse: env.mcp.includes('sse') },
      },
      authMethods: authMethods(),
      agentInfo: { name: env.name, version: '1.0.0' },
    };
  })
  .onRequest('authenticate', ({ params }) => {
    if (!authMethods().some((m) => m.id === params.methodId)) throw acp.RequestError.invalidParams(undefined, `unknown method ${params.methodId}`);
    authenticated = true;
    return {};
  })
  .onRequest('session/new', ({ params }) => {
    requireAuth();
    const sessionId = `sess-${process.pid}-${nextSession++}`;
    const s = sessionState(sessionId);
    s.mcpServers = params.mcpServers;
    saveTranscript(sessionId, []);
    return { sessionId, configOptions: configOptions(s), modes: modes(s) };
  })
  .onRequest('session/load', async ({ params, client }) => {
    requireAuth();
    await replay({ client }, params.sessionId);
    const s = sessionState(params.sessionId);
    s.mcpServers = params.mcpServers;
    return { configOptions: configOptions(s), modes: modes(s) };
  })
  .onRequest('session/resume', ({ params }) => {
    requireAuth();
    if (!loadTranscript(params.sessionId)) throw acp.RequestError.sessionNotFound(params.sessionId);
    const s = sessionState(params.sessionId);
    s.mcpServers = params.mcpServers;
    return { configOptions: configOptions(s), modes: modes(s) };
  })
  .onRequest('session/set_config_option', ({ params }) => {
    const s = sessionState(params.sessionId);
    s.config[params.configId] = String(params.value);
    return { configOptions: configOptions(s) ?? [] };
  })
  .onRequest('session/set_mode', ({ params }) => {
    sessionState(params.sessionId).mode = params.modeId;
    return {};
  })
  .onRequest('session/prompt', async ({ params, client }) => {
    const s = sessionState(params.sessionId);
    s.cancelled = false;
    const { steps, text } = parseSteps(params.prompt);
    const said: string[] = [];
    const stopReason = await runSteps({ client }, params.sessionId, steps, said);
    const history = loadTranscript(params.sessionId) ?? [];
    history.push({ sessionUpdate: 'user_message_chunk', content: { type: 'text', text } });
    if (said.length) history.push({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: said.join('') } });
    saveTranscript(params.sessionId, history);
    return { stopReason };
  })
  .onNotification('session/cancel', ({ params }) => {
    const s = sessionState(params.sessionId);
    s.cancelled = true;
    for (const r of s.onCancel.splice(0)) r();
  });

const connection = app.connect(
  acp.ndJsonStream(Writable.toWeb(process.stdout) as WritableStream<Uint8Array>, Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>),
);
void connection.closed.then(() => process.exit(0));
