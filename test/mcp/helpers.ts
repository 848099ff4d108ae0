// The MCP tests' client: the official SDK's own `Client` over its `StreamableHTTPClientTransport` (an
// implementation we did not write), pointed at the real server's `/mcp`.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A connected client (initialize done); `headers` carry the key, as an MCP host sends them. */
export async function connectMcp(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'agent-runtime-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

/** Calls a tool and returns its result, its text and its structured content. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return { result, text, data: (result.structuredContent ?? {}) as Record<string, any> };
}

/** A tool call that must succeed. */
export async function ok(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await call(client, name, args);
  assert.notEqual(r.result.isError, true, `${name} failed: ${r.text}`);
  return r;
}

/** A tool call that must fail with an `isError` result whose text matches. */
export async function fails(client: Client, name: string, args: Record<string, unknown>, message: RegExp) {
  const r = await call(client, name, args);
  assert.equal(r.result.isError, true, `${name} should have failed: ${r.text}`);
  assert.match(r.text, message);
  return r;
}
