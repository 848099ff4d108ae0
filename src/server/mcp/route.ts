// `/mcp`: the Model Context Protocol over the Streamable HTTP transport (the official SDK's), behind the
// same key check as every route (app.ts). Stateless: each POST gets a fresh server and transport, so no
// session lives between requests, a server restart or a second editor window loses nothing, and hosts
// need no `Mcp-Session-Id`. Without sessions the server has nothing to push, so GET (a stream for
// server-initiated messages) and DELETE (ending a session) answer 405, as the transport's spec allows.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuseBeforeBody, sendJson } from '../http/respond';
import type { RouteSpec } from '../http/route-spec';
import { json, jsonBody, obj, str, int } from '../http/schema';
import { VERSION } from '../version';
import { registerTools, type McpHost } from './tools';

export const MCP_PATH = '/mcp';

/** JSON-RPC error codes of the answers this module writes itself (the SDK writes the others). */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const SERVER_ERROR = -32000;

/** `/mcp` reads its own body (bounded by `maxRequestBytes`): the app's JSON parser leaves it alone. */
export function isMcpRequest(req: IncomingMessage): boolean {
  return req.url === MCP_PATH || req.url?.startsWith(`${MCP_PATH}?`) === true;
}

export function mcpRoutes(host: McpHost): RouteSpec[] {
  const notAllowed = (_req: IncomingMessage, res: ServerResponse) =>
    sendRpcError(res, 405, SERVER_ERROR, 'this MCP server is stateless: send JSON-RPC requests with POST; it has no stream or session to GET or DELETE', {
      Allow: 'POST',
    });
  const rpcDoc = (summary: string, responses: Record<string, unknown>) => ({ summary, tags: ['mcp'], responses });
  return [
    {
      method: 'post',
      path: MCP_PATH,
      auth: 'key',
      doc: {
        ...rpcDoc('Model Context Protocol (Streamable HTTP, stateless): a JSON-RPC request, answered as JSON (docs/mcp.md)', {
          '200': json(RpcMessage, 'the JSON-RPC answer'),
          '202': { description: 'a notification or response, accepted' },
          '400': json(RpcMessage, 'not JSON, or not JSON-RPC'),
          '406': json(RpcMessage, 'Accept must name application/json and text/event-stream'),
          '413': json(RpcMessage, 'larger than maxRequestBytes'),
          '415': json(RpcMessage, 'Content-Type must be application/json'),
        }),
        requestBody: jsonBody(RpcMessage, true),
      },
      handler: (req, res) => void serve(host, req, res),
    },
    {
      method: 'get',
      path: MCP_PATH,
      auth: 'key',
      doc: rpcDoc('Not served: this MCP server is stateless (405)', { '405': json(RpcMessage) }),
      handler: notAllowed,
    },
    {
      method: 'delete',
      path: MCP_PATH,
      auth: 'key',
      doc: rpcDoc('Not served: this MCP server has no sessions (405)', { '405': json(RpcMessage) }),
      handler: notAllowed,
    },
  ];
}

const RpcMessage = obj({
  jsonrpc: { type: 'string', enum: ['2.0'] },
  id: { type: ['string', 'integer', 'null'] },
  method: str,
  params: {},
  result: {},
  error: obj({ code: int, message: str }),
});

async function serve(host: McpHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, res, host.options.maxRequestBytes);
  if (body === undefined) return;
  let message: unknown;
  try {
    message = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return sendRpcError(res, 400, PARSE_ERROR, `Parse error: the body is not JSON (${(err as Error).message})`);
  }
  // The transport would accept an empty batch as "nothing to answer"; JSON-RPC calls it an invalid request.
  if (Array.isArray(message) && message.length === 0) return sendRpcError(res, 400, INVALID_REQUEST, 'Invalid Request: an empty batch');
  const { McpServer, StreamableHTTPServerTransport, zod } = await loadSdk();
  if (res.closed) return; // the client left while the SDK loaded: its 'close' is past, nothing would end a wait
  const left = new AbortController();
  const server = new McpServer({ name: 'agent-runtime', version: VERSION }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  registerTools(server, zod, host, left.signal);
  // JSON answers, not an SSE stream: nothing is pushed while a tool runs, and every client reads JSON.
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.once('close', () => {
    left.abort();
    void transport.close();
    void server.close();
  });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, message);
  } catch (err) {
    host.logger.error(`mcp: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (!res.headersSent) sendRpcError(res, 500, -32603, 'Internal error');
    else if (!res.writableEnded) res.destroy();
  }
}

/**
 * The SDK and zod, loaded at the first request: evaluating them at start cost about 200 ms, and holding
 * them, memory. The bundle keeps them in a file of their own, `dist/mcp-sdk.js` (esbuild.mjs).
 */
let sdk: Promise<typeof import('./sdk')> | undefined;
function loadSdk() {
  return (sdk ??= import('./sdk'));
}

/**
 * The whole body, or undefined once a 413 is on its way: at once when the declared length is too large,
 * else when the bytes read pass the bound (the rest is left unread and the connection closed after the answer).
 */
function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Buffer | undefined> {
  const tooLarge = () => rpcError(INVALID_REQUEST, `request larger than ${max} bytes (maxRequestBytes); send smaller arguments`);
  if (Number(req.headers['content-length'] ?? 0) > max) {
    refuseBeforeBody(req, res, 413, tooLarge());
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      sendJson(res, 413, tooLarge(), { Connection: 'close' });
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size <= max ? Buffer.concat(chunks, size) : undefined));
    req.once('error', () => resolve(undefined));
    req.once('close', () => {
      if (!req.complete) resolve(undefined);
    });
  });
}

function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

function sendRpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, rpcError(code, message), headers);
}

/** Told to the host at `initialize`: how the tools fit together. */
const INSTRUCTIONS =
  'Tools of one machine: run_command runs a shell command as a job and answers it when it ends within wait_seconds; ' +
  'a longer one answers its jobId and the output so far, and read_job (with the stdoutFrom/stderrFrom offsets of the last result and wait_seconds) reads on. ' +
  'send_input writes to its stdin, cancel_job ends it. Files: read_file, write_file, list_directory, search_files. ' +
  'run_agent gives a prompt to a coding agent (ACP) as a job. Terminals a person has open: list_terminals, read_terminal_screen, write_to_terminal.';
