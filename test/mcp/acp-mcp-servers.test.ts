// ACP jobs lend the agent MCP servers: `mcpServers` of `POST /exec` is checked (400 for a bad shape),
// passed to `session/new` and `session/load` as given, kept out of the job record except for names, and
// refused with a clear job error when the agent does not declare the transport (http, sse).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server';
import { removeWorkdir, script, scriptedAcpJob, scriptedAgent, tempWorkdir } from '../acp/helpers';

let s: TestServer;
let workdir: string;
let agent: string;
before(async () => {
  s = await startTestServer();
  workdir = tempWorkdir('acp-mcp-');
  agent = scriptedAgent()
    .map((a) => JSON.stringify(a))
    .join(' ');
});
after(async () => {
  await s?.close();
  removeWorkdir(workdir);
});

const SECRET = 'header-secret-value-0123456789';
const httpServer = () => ({ type: 'http', name: 'runtime', url: `${s.url}/mcp`, headers: [{ name: 'X-API-Key', value: SECRET }] });
const stdioServer = { name: 'local', command: '/usr/bin/env', args: ['mcp-server', '--flag'], env: [{ name: 'TOKEN', value: 'stdio-secret' }] };

const acpJob = (fields: Record<string, unknown>, agentEnv: Record<string, string> = {}) => scriptedAcpJob(agent, workdir, fields, agentEnv);

/** What the agent said it received, from the job's text (`mcpServers:<json>`). */
const received = (job: { stdout: string }) => JSON.parse(/mcpServers:(.*)$/m.exec(job.stdout)![1]);

describe('mcpServers of ACP jobs', () => {
  it('reach session/new as given (http with its headers, stdio with args and env)', async () => {
    const job = await s.run(acpJob({ prompt: script({ sayMcpServers: true }), mcpServers: [httpServer(), stdioServer] }, { TEST_AGENT_MCP: 'http' }));
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(received(job), [httpServer(), stdioServer]);
    // The record names them and keeps no header or env value (they carry keys).
    assert.deepEqual(job.mcpServers, [
      { name: 'runtime', type: 'http' },
      { name: 'local', type: 'stdio' },
    ]);
    // (The agent's own reply repeats them, by this test's design; the record as saved does not.)
    const record = JSON.stringify(s.server.manager.store.get(job.jobId)!.record);
    assert.ok(!record.includes(SECRET) && !record.includes('stdio-secret'), 'no secret in the job record');
  });

  it('a job without them sends an empty list, as before', async () => {
    const job = await s.run(acpJob({ prompt: script({ sayMcpServers: true }) }));
    assert.deepEqual(received(job), []);
    assert.equal(job.mcpServers, undefined);
  });

  it('reach session/load too when the job continues a session', async () => {
    const env = { TEST_AGENT_LOAD: '1', TEST_AGENT_MCP: 'sse' };
    const first = await s.run(acpJob({ prompt: script({ say: 'first turn' }) }, env));
    assert.equal(first.status, 'completed');
    const sse = { type: 'sse', name: 'events', url: 'https://example.test/sse', headers: [] };
    const second = await s.run(acpJob({ prompt: script({ sayMcpServers: true }), acp_session_id: first.acpSessionId, mcpServers: [sse] }, env));
    assert.equal(second.status, 'completed', JSON.stringify(second));
    assert.equal(second.acpSessionId, first.acpSessionId);
    assert.deepEqual(received(second), [sse]);
  });

  it('an http server for an agent that does not declare http: the job fails saying so, before any session', async () => {
    const job = await s.run(acpJob({ prompt: script({ say: 'never' }), mcpServers: [httpServer()] }));
    assert.equal(job.status, 'failed');
    assert.match(job.acpError, /does not take MCP servers over http \(its agentCapabilities\.mcpCapabilities\.http is not true\), so runtime cannot be lent/);
    assert.ok(!job.stdout.includes('never'));
    assert.ok(!job.events.some((e: { type: string; data: { stage?: string } }) => e.type === 'lifecycle' && e.data.stage === 'session'));
  });

  it('a stdio server needs no capability', async () => {
    const job = await s.run(acpJob({ prompt: script({ sayMcpServers: true }), mcpServers: [stdioServer] }));
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(received(job), [stdioServer]);
  });

  it('absent args, env and headers are sent as empty lists; unknown fields are dropped', async () => {
    const job = await s.run(
      acpJob(
        {
          prompt: script({ sayMcpServers: true }),
          mcpServers: [
            { name: 'bare', command: 'srv', extra: 1 },
            { type: 'http', name: 'h', url: 'http://127.0.0.1:1/' },
          ],
        },
        { TEST_AGENT_MCP: 'http' },
      ),
    );
    assert.deepEqual(received(job), [
      { name: 'bare', command: 'srv', args: [], env: [] },
      { type: 'http', name: 'h', url: 'http://127.0.0.1:1/', headers: [] },
    ]);
  });

  it('bad shapes are refused with a 400 naming the field, and no job starts', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'x' }, /mcpServers must be an array/],
      [[null], /mcpServers\[0\] must be an object/],
      [[{ command: 'srv' }], /mcpServers\[0\]\.name must be a non-empty string/],
      [
        [
          { name: 'a', command: 'srv' },
          { name: 'a', command: 'srv' },
        ],
        /mcpServers\[1\]\.name "a" is used twice/,
      ],
      [[{ name: 'a' }], /mcpServers\[0\]\.command must be a non-empty string/],
      [[{ name: 'a', command: 'srv', args: 'one two' }], /mcpServers\[0\]\.args must be an array of strings/],
      [[{ name: 'a', command: 'srv', env: { A: '1' } }], /mcpServers\[0\]\.env must be an array of \{"name": string, "value": string\}/],
      [[{ type: 'http', name: 'a', url: 'ftp://x/' }], /mcpServers\[0\]\.url must be an http:\/\/ or https:\/\/ URL/],
      [[{ type: 'sse', name: 'a' }], /mcpServers\[0\]\.url must be a non-empty string/],
      [[{ type: 'http', name: 'a', url: 'http://x/', headers: [{ name: 'A', value: 1 }] }], /mcpServers\[0\]\.headers must be an array of/],
      [[{ type: 'ws', name: 'a', url: 'ws://x/' }], /mcpServers\[0\]\.type must be "http", "sse" or "stdio"/],
    ];
    const before = (await s.call('GET', '/jobs')).body.length;
    for (const [mcpServers, message] of cases) {
      const r = await s.call('POST', '/exec', acpJob({ prompt: 'p', mcpServers }));
      assert.equal(r.status, 400, JSON.stringify(mcpServers));
      assert.match(r.body.error, message);
    }
    assert.equal((await s.call('GET', '/jobs')).body.length, before);
  });
});
