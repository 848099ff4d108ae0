// `/mcp` refuses what it cannot serve with clear errors: the key (401 before anything is read), unknown
// tools, wrong argument types, unknown ids, oversized or malformed requests, GET and DELETE. Never a
// crash, never a hung request: each case is followed by a call that still works.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { AUTH_ERROR } from '../../src/server/auth';
import { startTestServer, tempDir, type TestServer } from '../helpers/server';
import { call, connectMcp, fails, ok } from './helpers';

const MAX_REQUEST = 64 * 1024;
const RPC_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

let s: TestServer;
let mcp: Client;
before(async () => {
  s = await startTestServer({}, { mcp: { maxRequestBytes: MAX_REQUEST } });
  mcp = await connectMcp(s.url, { 'X-API-Key': s.key });
});
after(async () => {
  await mcp?.close();
  await s?.close();
});

/** A raw request to /mcp, with a deadline so that a hang fails the test instead of stalling it. */
async function post(body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}, method = 'POST') {
  const res = await fetch(`${s.url}/mcp`, {
    method,
    headers: { 'X-API-Key': s.key, ...RPC_HEADERS, ...headers },
    body: method === 'POST' ? body : undefined,
    signal: AbortSignal.timeout(10_000),
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

const listTools = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

async function stillServes(): Promise<void> {
  assert.equal((await ok(mcp, 'list_jobs')).result.isError, undefined);
}

describe('the key', () => {
  it('no key, or a wrong one: 401 with the API’s error, for POST, GET and DELETE alike', async () => {
    for (const method of ['POST', 'GET', 'DELETE']) {
      const none = await fetch(`${s.url}/mcp`, { method, headers: RPC_HEADERS, body: method === 'POST' ? listTools : undefined });
      assert.equal(none.status, 401, method);
      assert.deepEqual(await none.json(), { error: AUTH_ERROR });
    }
    const wrong = await post(listTools, { 'X-API-Key': 'wrong' });
    assert.equal(wrong.status, 401);
    const wrongBearer = await fetch(`${s.url}/mcp`, { method: 'POST', headers: { ...RPC_HEADERS, Authorization: 'Bearer wrong' }, body: listTools });
    assert.equal(wrongBearer.status, 401);
  });

  it('the SDK client without the key fails to connect with 401', async () => {
    await assert.rejects(connectMcp(s.url, {}), (err: Error & { code?: number }) => err.code === 401 || /401/.test(err.message));
  });

  it('the key as a bearer token works, as MCP hosts send it', async () => {
    const bearer = await connectMcp(s.url, { Authorization: `Bearer ${s.key}` });
    try {
      const { tools } = await bearer.listTools();
      assert.ok(tools.some((t) => t.name === 'run_command'));
    } finally {
      await bearer.close();
    }
  });
});

describe('tool calls', () => {
  it('an unknown tool is a tool error naming it', async () => {
    await fails(mcp, 'format_disk', {}, /Tool format_disk not found/);
    await stillServes();
  });

  it('wrong argument types and missing arguments are tool errors naming the argument', async () => {
    await fails(mcp, 'run_command', { command: 42 }, /Invalid arguments for tool run_command.*command/s);
    await fails(mcp, 'run_command', {}, /Invalid arguments for tool run_command.*command/s);
    await fails(mcp, 'read_job', { jobId: 'x', stdoutFrom: -1 }, /Invalid arguments for tool read_job.*stdoutFrom/s);
    await fails(mcp, 'send_input', { jobId: 'x', data: 'a', eof: 'yes' }, /Invalid arguments for tool send_input.*eof/s);
    await fails(mcp, 'run_agent', { prompt: 'p', workdir: '/', policy: 'always' }, /Invalid arguments for tool run_agent.*policy/s);
    await fails(mcp, 'run_command', { command: 'true', env: { A: 1 } }, /Invalid arguments for tool run_command.*env/s);
    await stillServes();
  });

  it('a job id that does not exist is a tool error for every job tool', async () => {
    await fails(mcp, 'read_job', { jobId: 'no-such-job' }, /read_job: no such job/);
    await fails(mcp, 'send_input', { jobId: 'no-such-job', data: 'x' }, /send_input: no such job/);
    await fails(mcp, 'cancel_job', { jobId: 'no-such-job' }, /cancel_job: no such job/);
  });

  it('the API’s own refusals come back as tool errors with its words', async () => {
    await fails(mcp, 'run_command', { command: 'true', workdir: '/no/such/dir' }, /run_command: workdir does not exist: \/no\/such\/dir/);
    await fails(mcp, 'run_command', { command: 'true', timeout: 10 ** 9 }, /timeout must be more than 0 and at most/);
    const done = await ok(mcp, 'run_command', { command: 'true' });
    await fails(mcp, 'cancel_job', { jobId: done.data.jobId }, /cancel_job: job already finished/);
    await fails(mcp, 'send_input', { jobId: done.data.jobId, data: 'x' }, /send_input: .*not running/);
    await fails(mcp, 'read_file', { path: '/no/such/file.txt' }, /read_file: .*no such file/i);
    await fails(mcp, 'read_file', { path: tempDir() }, /read_file: is a folder/);
    await fails(mcp, 'list_directory', { path: '/no/such/dir' }, /list_directory: .*no such/i);
    await fails(mcp, 'search_files', { path: tempDir(), pattern: '(' }, /search_files: .*/);
    await stillServes();
  });

  it('a binary file is named as one, not dumped', async () => {
    const r = await call(mcp, 'read_file', { path: process.execPath, length: 4096 });
    assert.notEqual(r.result.isError, true);
    assert.match(r.text, /is not a text file/);
    assert.equal(r.data.binary, true);
    assert.equal(r.data.content, undefined);
  });
});

describe('requests', () => {
  it('oversized arguments: 413 and a JSON-RPC error naming maxRequestBytes, declared or not', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'write_file', arguments: { path: '/tmp/x', content: 'z'.repeat(MAX_REQUEST) } },
    });
    const declared = await post(big);
    assert.equal(declared.status, 413);
    assert.equal(declared.json.jsonrpc, '2.0');
    assert.match(declared.json.error.message, new RegExp(`larger than ${MAX_REQUEST} bytes \\(maxRequestBytes\\)`));
    // Sent in chunks with no Content-Length: cut off once past the bound.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < big.length; i += 8192) c.enqueue(new TextEncoder().encode(big.slice(i, i + 8192)));
        c.close();
      },
    });
    const chunked = await post(stream);
    assert.equal(chunked.status, 413);
    assert.match(chunked.json.error.message, /maxRequestBytes/);
    // Through the SDK client: the call fails with the 413, and the server goes on.
    await assert.rejects(mcp.callTool({ name: 'write_file', arguments: { path: '/tmp/x', content: 'z'.repeat(MAX_REQUEST) } }), /413|maxRequestBytes/);
    await stillServes();
  });

  it('malformed JSON: 400 and a JSON-RPC parse error', async () => {
    const r = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    assert.match(r.json.error.message, /not JSON/);
  });

  it('JSON that is not JSON-RPC: 400 from the transport, with a JSON-RPC error', async () => {
    for (const body of ['{"hello": "world"}', '[]', '42', 'null']) {
      const r = await post(body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.jsonrpc, '2.0', body);
      assert.ok(r.json.error.message, body);
    }
  });

  it('an unknown method gets a JSON-RPC "method not found"', async () => {
    // The transport needs initialize first only with sessions; this server has none, so any request is served.
    const r = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'no/such_method' }));
    assert.equal(r.status, 200);
    assert.equal(r.json.error.code, -32601);
  });

  it('a tool call without initialize is served (stateless)', async () => {
    const r = await post(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'list_jobs', arguments: {} } }));
    assert.equal(r.status, 200);
    assert.equal(r.json.id, 8);
    assert.equal(r.json.result.isError, undefined);
  });

  it('GET and DELETE answer 405 at once (no stream, no session), with Allow: POST', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await post('', { Accept: 'text/event-stream' }, method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'POST');
      assert.match(r.json.error.message, /stateless/);
    }
  });

  it('a wrong Accept or Content-Type gets the transport’s 406 or 415, not a hang', async () => {
    assert.equal((await post(listTools, { Accept: 'text/html' })).status, 406);
    assert.equal((await post(listTools, { 'Content-Type': 'text/plain' })).status, 415);
  });

  it('a client that leaves during a long wait frees the call', async () => {
    const started = await ok(mcp, 'run_command', { command: 'sleep 30', wait_seconds: 0 });
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name: 'read_job', arguments: { jobId: started.data.jobId, wait_seconds: 30 } },
    });
    const req = request(`${s.url}/mcp`, { method: 'POST', headers: { 'X-API-Key': s.key, ...RPC_HEADERS } });
    req.on('error', () => {});
    req.end(body);
    await new Promise((r) => setTimeout(r, 300));
    req.destroy();
    const job = s.server.manager.store.get(started.data.jobId)!;
    // The waiter went with the client: nothing listens to the job any more.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((job as unknown as { changes: { listenerCount(e: string): number } }).changes.listenerCount('change'), 0);
    await ok(mcp, 'cancel_job', { jobId: started.data.jobId });
  });
});
