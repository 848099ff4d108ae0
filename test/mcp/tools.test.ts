// `/mcp` end to end: the real server on a free loopback port, driven by the MCP SDK's own client; every
// tool at least once against real processes, files, an ACP agent and a terminal.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { TOOL_NAMES } from '../../src/server/mcp/tools';
import { eventually, startTestServer, tempDir, TEST_KEY, type TestServer } from '../helpers/server';
import { script, scriptedAgent } from '../acp/helpers';
import { TermClient } from '../terminal/helpers';
import { call, connectMcp, ok } from './helpers';

let s: TestServer;
let mcp: Client;
let dir: string;
before(async () => {
  // A small text bound, so that cutting and its marks are seen with small outputs.
  s = await startTestServer({}, { mcp: { maxTextBytes: 2048 } });
  mcp = await connectMcp(s.url, { 'X-API-Key': s.key });
  dir = tempDir('mcp-tools-');
});
after(async () => {
  await mcp?.close();
  await s?.close();
});

describe('the endpoint', () => {
  it('is named in /health’s capabilities and described in the OpenAPI document', async () => {
    assert.ok((await s.call('GET', '/health')).body.capabilities.includes('mcp'));
    const doc = (await s.call('GET', '/openapi.json')).body;
    assert.deepEqual(Object.keys(doc.paths['/mcp']).sort(), ['delete', 'get', 'post']);
    assert.deepEqual(doc.paths['/mcp'].post.security, [{ apiKey: [] }, { bearer: [] }]);
  });
});

describe('tools/list', () => {
  it('lists exactly the contract’s tools, with its argument names', async () => {
    const { tools } = await mcp.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      [...TOOL_NAMES],
    );
    const args = Object.fromEntries(tools.map((t) => [t.name, Object.keys(t.inputSchema.properties ?? {}).sort()]));
    assert.deepEqual(args, {
      run_command: ['command', 'env', 'timeout', 'wait_seconds', 'workdir'],
      read_job: ['jobId', 'stderrFrom', 'stdoutFrom', 'wait_seconds'],
      send_input: ['data', 'eof', 'jobId'],
      cancel_job: ['jobId'],
      list_jobs: [],
      read_file: ['length', 'offset', 'path'],
      write_file: ['content', 'path'],
      list_directory: ['path'],
      search_files: ['glob', 'path', 'pattern'],
      run_agent: ['agent', 'policy', 'prompt', 'wait_seconds', 'workdir'],
      list_terminals: [],
      read_terminal_screen: ['id'],
      write_to_terminal: ['data', 'id'],
    });
    for (const t of tools) assert.ok(t.description && t.description.length > 20, `${t.name} has a description`);
  });
});

describe('jobs', () => {
  it('run_command answers a finished job: exit code, both streams, offsets', async () => {
    const { text, data } = await ok(mcp, 'run_command', { command: 'echo out-line; echo err-line >&2; exit 3', workdir: dir });
    assert.equal(data.status, 'failed'); // the seed's status for a non-zero exit
    assert.equal(data.exitCode, 3);
    assert.equal(data.stdout, 'out-line\n');
    assert.equal(data.stderr, 'err-line\n');
    assert.equal(data.stdoutNext, 9);
    assert.equal(data.stderrBytes, 9);
    assert.match(text, /failed, exit code 3/);
    assert.match(text, /out-line/);
    assert.match(text, /err-line/);
    // The same job as the HTTP API shows it.
    const http = await s.call('GET', `/jobs/${data.jobId}`);
    assert.equal(http.body.exitCode, 3);
  });

  it('run_command answers a running job with its jobId and output so far; read_job reads on from the offsets', async () => {
    const marker = join(dir, 'go');
    const command = `echo first; while [ ! -e ${marker} ]; do sleep 0.05; done; echo second`;
    const first = await ok(mcp, 'run_command', { command, wait_seconds: 0.5 });
    assert.equal(first.data.status, 'running');
    assert.ok(first.data.jobId);
    await eventually(async () => (await ok(mcp, 'read_job', { jobId: first.data.jobId })).data.stdout === 'first\n', 10_000, 'first line');
    assert.match(first.text, /still running\. read_job with jobId=/);
    writeFileSync(marker, '');
    // Waits for news past the offset it names: only what came after "first\n".
    let next = await ok(mcp, 'read_job', { jobId: first.data.jobId, stdoutFrom: 6, stderrFrom: 0, wait_seconds: 20 });
    if (next.data.stdout === '') next = await ok(mcp, 'read_job', { jobId: first.data.jobId, stdoutFrom: 6, wait_seconds: 20 });
    assert.equal(next.data.stdout, 'second\n');
    assert.equal(next.data.stdoutOffset, 6);
    const done = await ok(mcp, 'read_job', { jobId: first.data.jobId, stdoutFrom: 0, wait_seconds: 20 });
    assert.equal(done.data.stdout, 'first\nsecond\n');
    await eventually(async () => (await ok(mcp, 'read_job', { jobId: first.data.jobId, wait_seconds: 5 })).data.status === 'completed', 20_000, 'the end');
  });

  it('send_input writes to stdin and closes it with eof', async () => {
    const started = await ok(mcp, 'run_command', { command: 'cat; echo cat-ended', wait_seconds: 0 });
    const sent = await ok(mcp, 'send_input', { jobId: started.data.jobId, data: 'typed in\n', eof: true });
    assert.match(sent.text, /wrote 9 bytes .* closed its stdin/);
    assert.equal(sent.data.written, 9);
    const done = await ok(mcp, 'read_job', { jobId: started.data.jobId, wait_seconds: 20 });
    await eventually(async () => (await ok(mcp, 'read_job', { jobId: started.data.jobId, wait_seconds: 2 })).data.status === 'completed', 20_000, 'cat to end');
    const final = await ok(mcp, 'read_job', { jobId: started.data.jobId });
    assert.equal(final.data.stdout, 'typed in\ncat-ended\n', done.text);
  });

  it('cancel_job kills the job’s process tree and answers the ended job', async () => {
    const started = await ok(mcp, 'run_command', { command: 'sleep 60', wait_seconds: 0 });
    const t0 = Date.now();
    const { data, text } = await ok(mcp, 'cancel_job', { jobId: started.data.jobId });
    assert.equal(data.status, 'failed');
    assert.equal(data.cancelled, true);
    assert.equal(data.endReason, 'cancelled');
    assert.match(text, /ended by cancelled/);
    assert.ok(Date.now() - t0 < 15_000);
  });

  it('list_jobs lists the recent jobs, newest first', async () => {
    const a = await ok(mcp, 'run_command', { command: 'echo listed' });
    const { data, text } = await ok(mcp, 'list_jobs');
    assert.equal(data.jobs[0].jobId, a.data.jobId);
    assert.equal(data.jobs[0].command, 'echo listed');
    assert.match(text, new RegExp(`${a.data.jobId}\\s+completed \\(exit 0\\)\\s+shell\\s+echo listed`));
  });

  it('output over maxTextBytes is cut, and the cut is marked with how to read on', async () => {
    const { data, text } = await ok(mcp, 'run_command', { command: `printf 'x%.0s' $(seq 1 5000); echo; echo END` });
    assert.equal(data.stdoutBytes, 5005);
    assert.ok(data.stdoutOffset > 0);
    assert.match(text, /\[… \d+ earlier bytes of stdout not shown: read_job with stdoutFrom=0 reads them\]/);
    assert.doesNotMatch(text, /GET \/jobs/); // the way on is told in tool terms
    assert.match(text, /END/); // the tail is what shows
    const head = await ok(mcp, 'read_job', { jobId: data.jobId, stdoutFrom: 0 });
    assert.equal(head.data.stdoutOffset, 0);
    assert.ok(head.data.stdoutNext <= 2048);
    assert.match(head.text, new RegExp(`\\[… ${5005 - head.data.stdoutNext} more bytes of stdout: read_job with stdoutFrom=${head.data.stdoutNext}\\]`));
  });
});

describe('files', () => {
  it('write_file creates a file (and its folders); read_file reads it, whole and by range', async () => {
    const path = join(dir, 'sub', 'deeper', 'note.txt');
    const written = await ok(mcp, 'write_file', { path, content: 'héllo\nworld\n' });
    assert.match(written.text, /^created /);
    assert.equal(readFileSync(path, 'utf8'), 'héllo\nworld\n');
    assert.match((await ok(mcp, 'write_file', { path, content: 'héllo\nworld\nagain\n' })).text, /^replaced /);
    const whole = await ok(mcp, 'read_file', { path });
    assert.equal(whole.text, 'héllo\nworld\nagain\n');
    assert.equal(whole.data.size, 19);
    const part = await ok(mcp, 'read_file', { path, offset: 7, length: 5 });
    assert.equal(part.text.split('\n')[0], 'world');
    assert.match(part.text, /\[… 7 more bytes: read_file with offset=12\]/);
    // A range that ends inside "é" stops before it, and says where to go on.
    const cut = await ok(mcp, 'read_file', { path, offset: 0, length: 2 });
    assert.equal(cut.data.content, 'h');
    assert.equal(cut.data.next, 1);
  });

  it('read_file caps a read at maxTextBytes', async () => {
    const path = join(dir, 'big.txt');
    writeFileSync(path, 'y'.repeat(5000));
    const r = await ok(mcp, 'read_file', { path, length: 100_000 });
    assert.equal(r.data.next, 2048);
    assert.match(r.text, /\[… 2952 more bytes: read_file with offset=2048\]$/);
  });

  it('list_directory lists a folder; search_files finds contents under it', async () => {
    const folder = join(dir, 'tree');
    mkdirSync(join(folder, 'inner'), { recursive: true });
    writeFileSync(join(folder, 'a.ts'), 'const needle = 1;\n');
    writeFileSync(join(folder, 'b.md'), 'a needle in markdown\n');
    writeFileSync(join(folder, 'inner', 'c.ts'), 'no match here\nneedle again\n');
    const listed = await ok(mcp, 'list_directory', { path: folder });
    assert.equal(listed.text, 'a.ts  18 bytes\nb.md  21 bytes\ninner/');
    assert.deepEqual(
      listed.data.entries.map((e: { name: string }) => e.name),
      ['a.ts', 'b.md', 'inner'],
    );
    const found = await ok(mcp, 'search_files', { path: folder, pattern: 'needle', glob: '*.ts' });
    assert.deepEqual(found.data.matches.map((m: { path: string; line: number }) => `${m.path}:${m.line}`).sort(), [
      `${join(folder, 'a.ts')}:1`,
      `${join(folder, 'inner', 'c.ts')}:2`,
    ]);
    assert.match(found.text, /inner\/c\.ts:2: needle again/);
    assert.equal((await ok(mcp, 'search_files', { path: folder, pattern: 'absent-word' })).text, 'no matches');
  });
});

describe('run_agent', () => {
  it('runs an ACP agent (the SDK-based scripted agent) on a prompt and answers its reply', async () => {
    const agent = scriptedAgent()
      .map((a) => JSON.stringify(a))
      .join(' ');
    const workdir = tempDir('mcp-agent-');
    const { data, text } = await ok(mcp, 'run_agent', { prompt: script({ say: 'agent says hi' }), workdir, agent, wait_seconds: 30 });
    assert.equal(data.status, 'completed', text);
    assert.equal(data.mode, 'acp');
    assert.equal(data.stopReason, 'end_turn');
    assert.match(String(data.stdout), /agent says hi/);
    assert.match(text, /stop reason end_turn/);
    assert.ok(existsSync(workdir));
  });
});

describe('terminals', () => {
  it('list_terminals, write_to_terminal and read_terminal_screen act on a live terminal session', async () => {
    assert.ok(s.server.terminal.supported(), 'node-pty loads on this machine');
    const term = new TermClient(`ws://127.0.0.1:${s.server.port}/terminal/ws`, { 'x-api-key': TEST_KEY });
    await term.opened;
    await term.waitForControl('session');
    try {
      const listed = await ok(mcp, 'list_terminals');
      assert.equal(listed.data.terminals.length, 1);
      const id = listed.data.terminals[0].id;
      assert.equal(id, term.sessionId);
      assert.match(listed.text, new RegExp(`^${id} `));
      await ok(mcp, 'write_to_terminal', { id, data: 'echo typed-by-$((40 + 2))\r' });
      // The person's client sees it too: the input went to the same shell.
      await term.waitFor('typed-by-42');
      const screen = await eventually(
        async () => {
          const r = await ok(mcp, 'read_terminal_screen', { id });
          return r.text.includes('typed-by-42') ? r : undefined;
        },
        20_000,
        'the screen to show the output',
      );
      assert.match(screen!.data.screen, /echo typed-by-\$\(\(40 \+ 2\)\)/);
    } finally {
      await term.close();
    }
  });

  it('an unknown terminal id is a tool error', async () => {
    const r = await call(mcp, 'read_terminal_screen', { id: 'no-such-terminal' });
    assert.equal(r.result.isError, true);
    assert.match(r.text, /no terminal session no-such-terminal .*list_terminals/);
    const w = await call(mcp, 'write_to_terminal', { id: 'no-such-terminal', data: 'x' });
    assert.equal(w.result.isError, true);
  });
});
