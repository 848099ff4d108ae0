// Scripted model servers for the real-agent suite: just enough of the Anthropic Messages API, the OpenAI
// Responses API and the Gemini API (streaming) for a real agent to run a whole turn offline. The first
// model call that offers the right tool gets one tool call; once the agent sends the tool's result back,
// the answer is a short text (`done`). Calls without tools (titles, summaries, routing) get short answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ModelApi = 'anthropic' | 'openai' | 'gemini';

export interface ModelScript {
  /** The shell command the model asks to run. */
  command?: string;
  /**
   * Anthropic: the tool the model calls with `{command, description}` (e.g. an MCP tool,
   * `mcp__NAME__run_command`); default the agent's shell tool (`Bash`, `bash`). Once the tool's result
   * comes back, the answer quotes it (`done: RESULT`), so a test sees that it reached the model.
   */
  tool?: string;
  /** Codex: the command's working directory (else none is given). */
  workdir?: string;
  /** Gemini: tools to call, one per model call (`write_file`, `run_shell_command`, `read_file`). */
  geminiSteps?: string[];
  /** Gemini: the file `write_file` writes, and what. */
  file?: string;
  content?: string;
}

export interface ModelServer {
  url: string;
  port: number;
  /** `METHOD path` of each request, for failure messages. */
  requests: string[];
  close(): Promise<void>;
}

export async function startModelServer(api: ModelApi, script: ModelScript): Promise<ModelServer> {
  const requests: string[] = [];
  let n = 0;
  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    requests.push(`${req.method} ${req.url}`);
    let json: any = null;
    try {
      json = body ? JSON.parse(body) : null;
    } catch {
      // not JSON: answered as unknown below
    }
    const id = ++n;
    if (api === 'anthropic') return anthropic(req, res, json, script, id);
    if (api === 'openai') return openai(req, res, json, script, id);
    return gemini(req, res, json, script);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        sendJson(res, 500, { error: { message: String(err) } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function event(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

// ---- Anthropic Messages (Claude Code, Copilot with COPILOT_PROVIDER_TYPE=anthropic)

function anthropic(req: IncomingMessage, res: ServerResponse, j: any, script: ModelScript, n: number): void {
  const url = req.url ?? '';
  if (url.startsWith('/v1/messages/count_tokens')) return sendJson(res, 200, { input_tokens: 10 });
  if (req.method !== 'POST' || !url.startsWith('/v1/messages') || !j)
    return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: url } });
  const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  // Claude Code's tool is `Bash`, Copilot's `bash`
  const tool = ((j.tools ?? []) as { name: string }[]).find((t) => (script.tool ? t.name === script.tool : /^bash$/i.test(t.name)))?.name;
  const answered = JSON.stringify(j.messages ?? []).includes('tool_result');
  const answer = script.tool && answered ? `done: ${toolResultText(j.messages)}` : 'done';
  const callTool = tool !== undefined && !answered && script.command !== undefined;
  const id = `msg_${n}`;
  if (!j.stream) {
    return sendJson(res, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model: j.model,
      content: [{ type: 'text', text: 'Title' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage,
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  event(res, 'message_start', {
    message: { id, type: 'message', role: 'assistant', model: j.model, content: [], stop_reason: null, stop_sequence: null, usage },
  });
  if (callTool) {
    event(res, 'content_block_start', { index: 0, content_block: { type: 'tool_use', id: `toolu_${n}`, name: tool, input: {} } });
    event(res, 'content_block_delta', {
      index: 0,
      delta: { type: 'input_json_delta', partial_json: JSON.stringify({ command: script.command, description: 'run the task' }) },
    });
  } else {
    event(res, 'content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    event(res, 'content_block_delta', { index: 0, delta: { type: 'text_delta', text: answer } });
  }
  event(res, 'content_block_stop', { index: 0 });
  event(res, 'message_delta', { delta: { stop_reason: callTool ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
  event(res, 'message_stop', {});
  res.end();
}

/** The text of the last `tool_result` the agent sent the model (its content: a string, or text blocks). */
function toolResultText(messages: any[] = []): string {
  const results = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b: any) => b.type === 'tool_result');
  const content = results[results.length - 1]?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((b: any) => (b.type === 'text' ? b.text : '')).join('');
}

// ---- OpenAI Responses (Codex)

function openai(req: IncomingMessage, res: ServerResponse, j: any, script: ModelScript, n: number): void {
  if (req.method !== 'POST' || !(req.url ?? '').endsWith('/responses') || !j) return sendJson(res, 404, {});
  const answered = JSON.stringify(j.input ?? []).includes('function_call_output');
  const id = `resp_${n}`;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  event(res, 'response.created', { response: { id } });
  if (!answered && script.command !== undefined) {
    // escalation, so that Codex (whose own sandbox needs bwrap) asks the client's permission
    const args: Record<string, unknown> = { cmd: script.command, sandbox_permissions: 'require_escalated', justification: 'the task needs it' };
    if (script.workdir) args.workdir = script.workdir;
    const item = { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: 'exec_command', arguments: JSON.stringify(args) };
    event(res, 'response.output_item.added', { output_index: 0, item });
    event(res, 'response.output_item.done', { output_index: 0, item });
  } else {
    const item = { type: 'message', id: `msg_${n}`, role: 'assistant', content: [{ type: 'output_text', text: 'done' }] };
    event(res, 'response.output_item.added', { output_index: 0, item: { ...item, content: [] } });
    event(res, 'response.output_text.delta', { output_index: 0, content_index: 0, item_id: item.id, delta: 'done' });
    event(res, 'response.output_item.done', { output_index: 0, item });
  }
  const usage = {
    input_tokens: 10,
    output_tokens: 5,
    total_tokens: 15,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 },
  };
  event(res, 'response.completed', { response: { id, usage } });
  res.end();
}

// ---- Gemini (generateContent, streamGenerateContent?alt=sse, countTokens)

function gemini(req: IncomingMessage, res: ServerResponse, j: any, script: ModelScript): void {
  const m = /\/models\/([^:/?]+):(\w+)/.exec(req.url ?? '');
  if (req.method !== 'POST' || !m || !j) return sendJson(res, 404, { error: { code: 404, message: 'not scripted', status: 'NOT_FOUND' } });
  if (m[2] === 'countTokens') return sendJson(res, 200, { totalTokens: 10 });
  const part = geminiPart(j, script);
  const body = {
    candidates: [{ content: { role: 'model', parts: [part] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
    modelVersion: 'scripted',
  };
  if (m[2] === 'generateContent') return sendJson(res, 200, body);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(`data: ${JSON.stringify(body)}\r\n\r\n`);
}

function geminiPart(j: any, script: ModelScript): Record<string, unknown> {
  const offered: string[] = (j.tools ?? []).flatMap((t: any) => t.functionDeclarations ?? []).map((d: any) => d.name);
  if (offered.length === 0) {
    // side calls: routing and "who speaks next" want JSON
    const g = j.generationConfig ?? {};
    if (g.responseMimeType === 'application/json' || g.responseJsonSchema || g.responseSchema) {
      return { text: JSON.stringify({ reasoning: 'scripted', next_speaker: 'user', model_choice: 'flash', complexity_score: 1 }) };
    }
    return { text: 'ok' };
  }
  const steps = script.geminiSteps ?? [];
  const done = (j.contents ?? []).flatMap((c: any) => c.parts ?? []).filter((p: any) => p.functionResponse).length;
  if (done >= steps.length) return { text: 'done' };
  const tool = steps[done];
  if (!offered.includes(tool)) return { text: `tool ${tool} is not offered (${offered.join(', ')})` };
  const args =
    tool === 'write_file'
      ? { file_path: script.file, content: script.content ?? 'hello\n' }
      : tool === 'read_file'
        ? { file_path: script.file }
        : { command: script.command, description: 'run the task' };
  return { functionCall: { name: tool, args } };
}
