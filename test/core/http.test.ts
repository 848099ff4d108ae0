// How the command server reads requests and writes answers, whatever shape a request takes: declared or
// chunked bodies, compressed, in other charsets, with a byte-order mark, odd paths; and what happens when
// a handler fails after its answer began.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { RequestHandler } from 'express';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { KeyStore } from '../../src/server/auth';
import { HttpError } from '../../src/server/errors';
import { createApp } from '../../src/server/http/app';
import { HostPolicy } from '../../src/server/http/hosts';
import { sendJson } from '../../src/server/http/respond';
import type { RouteSpec } from '../../src/server/http/route-spec';
import { chunked, spawnCli, startTestServer, TEST_KEY, type TestServer } from '../helpers/server';

/** A raw request, headers exactly as given (fetch would add or fix some). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: Buffer,
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('error', reject); // the connection ended before the whole answer
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the command server reads every shape of request', () => {
  let s: TestServer;
  let jobId: string;
  before(async () => {
    s = await startTestServer();
    jobId = (await s.run({ command: 'echo done' })).jobId;
  });
  after(() => s.close());

  const post = (body: Buffer, headers: Record<string, string | number>) =>
    raw(s.url, 'POST', '/exec', { 'x-api-key': TEST_KEY, 'content-length': body.length, ...headers }, body);

  it('run a job from a declared-length body and from a chunked one alike', async () => {
    const plain = await s.call('POST', '/exec', { command: 'echo one' });
    const streamed = await s.call('POST', '/exec', chunked(JSON.stringify({ command: 'echo one' })));
    for (const r of [plain, streamed]) {
      assert.equal(r.status, 202);
      assert.deepEqual(Object.keys(r.body).sort(), ['jobId', 'status']);
      assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal((await s.waitJob(r.body.jobId)).stdout, 'one\n');
    }
  });

  it('inflate a compressed body', async () => {
    const r = await post(gzipSync(JSON.stringify({ command: 'echo zipped' })), { 'content-encoding': 'gzip' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal((await s.waitJob(r.body.jobId)).stdout, 'zipped\n');
  });

  it('refuse a body in a charset other than UTF-8 with a JSON 415', async () => {
    for (const type of ['application/json; charset=latin1', 'application/json; charset = latin1', 'application/json;charset=utf8']) {
      const r = await post(Buffer.from(JSON.stringify({ command: 'true' })), { 'content-type': type });
      assert.equal(r.status, 415, type);
      assert.match(r.body.error, /unsupported charset/, type);
    }
  });

  it('read a UTF-8 body with a byte-order mark, declared as UTF-8 or not', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ command: 'echo bom' }))]);
    const types = [{}, { 'content-type': 'application/json; charset=UTF-8' }, { 'content-type': 'application/json; charset="utf-8"' }];
    for (const headers of types as Record<string, string>[]) {
      const r = await post(body, headers);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.equal((await s.waitJob(r.body.jobId)).stdout, 'bom\n');
    }
  });

  it('take an empty body, or none, as {} (so: command is required)', async () => {
    for (const r of [await post(Buffer.alloc(0), {}), await raw(s.url, 'POST', '/exec', { 'x-api-key': TEST_KEY })]) {
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'command is required');
    }
  });

  it('refuse a wrong or missing key on both routes with the same 401', async () => {
    for (const headers of [{ 'x-api-key': 'wrong' }, {}] as Record<string, string>[]) {
      const r1 = await raw(s.url, 'POST', '/exec', { ...headers, 'content-type': 'application/json', 'content-length': 2 }, Buffer.from('{}'));
      const r2 = await raw(s.url, 'GET', `/jobs/${jobId}`, headers);
      for (const r of [r1, r2]) {
        assert.equal(r.status, 401);
        assert.equal(r.body.error, 'invalid or missing API key');
      }
    }
  });

  it('answer a refused body sent whole on a closing connection, never reset it (the body is dropped, not parsed)', async () => {
    // The server in a process of its own, as clients meet it: in this one the client's writes and the
    // server's reads share a loop, and no reset shows.
    const cli = await spawnCli([]);
    const url = new URL(cli.url);
    const body = Buffer.alloc(4_000_000, 0x61);
    try {
      for (let i = 0; i < 20; i++) {
        const answer = await new Promise<string>((resolve) => {
          const socket = connect(Number(url.port), '127.0.0.1');
          let got = '';
          socket.on('data', (d) => (got += d));
          socket.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
          socket.on('close', () => resolve(got.split('\r\n')[0]));
          // All of it before reading anything, as most clients send; no key, and a closing connection.
          socket.write(`POST /exec HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
          socket.write(body);
        });
        assert.equal(answer, 'HTTP/1.1 401 Unauthorized', `request ${i}`);
      }
    } finally {
      await cli.stop();
    }
  });

  it('find a job by its plain path, with a trailing slash, an encoded id or a fragment', async () => {
    const encoded = `%${jobId.charCodeAt(0).toString(16)}${jobId.slice(1)}`;
    for (const path of [
      `/jobs/${jobId}`,
      `/jobs/${jobId}/`,
      `/jobs/${encoded}`,
      `/jobs/${jobId}?tailLines=1`,
      `/jobs/${jobId}#end`,
      `/jobs/${jobId}?wait=1#end`,
    ]) {
      const r = await raw(s.url, 'GET', path, { 'x-api-key': TEST_KEY });
      assert.equal(r.status, 200, path);
      assert.equal(r.body.jobId, jobId, path);
      assert.equal(r.body.stdout, 'done\n', path);
    }
  });

  it('answer errors raised in a handler as JSON', async () => {
    const notFound = await s.call('GET', '/jobs/0123456789ab?wait=1');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.body.error, 'job not found');
    const badQuery = await s.call('GET', `/jobs/${jobId}?wait=1&stdoutFrom=-3`);
    assert.equal(badQuery.status, 400);
    assert.match(badQuery.body.error, /stdoutFrom must be a non-negative integer/);
    const key = { 'Idempotency-Key': 'http-replay' };
    const first = await s.call('POST', '/exec', { command: 'echo once' }, key);
    const again = await s.call('POST', '/exec', chunked(JSON.stringify({ command: 'echo once' })), key);
    assert.equal(again.body.jobId, first.body.jobId);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const conflict = await s.call('POST', '/exec', { command: 'echo twice' }, key);
    assert.equal(conflict.status, 422);
    assert.equal(conflict.body.jobId, first.body.jobId);
  });

  it('long-poll alike: the answer comes when the job ends', async () => {
    const submit = JSON.stringify({ command: 'sleep 0.3; echo late' });
    const ways = [
      { post: () => s.call('POST', '/exec', submit), poll: (id: string) => `/jobs/${id}?wait=10&stdoutFrom=999999999` },
      { post: () => s.call('POST', '/exec', chunked(submit)), poll: (id: string) => `/jobs/${id}/?wait=10&stdoutFrom=999999999` },
    ];
    for (const way of ways) {
      const { body } = await way.post();
      const polled = await s.call('GET', way.poll(body.jobId));
      assert.equal(polled.body.status, 'completed');
      assert.equal(polled.body.stdoutBytes, 5);
      assert.ok(polled.body.durationMs >= 250, `answered when the job ended, not before: ${polled.body.durationMs} ms`);
    }
  });
});

describe('a handler that fails after it began its answer', () => {
  let server: Server;
  let url: string;
  const logged: string[] = [];
  before(async () => {
    const late = new HttpError(409, 'too late');
    const routes: RouteSpec[] = [];
    const get = (path: string, handler: RequestHandler) => routes.push({ method: 'get', path, auth: 'key', doc: { summary: path, responses: {} }, handler });
    get('/whole', (_req, res) => {
      sendJson(res, 200, { ok: true });
      throw late;
    });
    get('/whole-async', async (_req, res) => {
      sendJson(res, 200, { ok: true });
      throw late;
    });
    get('/cut', async (_req, res) => {
      res.writeHead(200, { 'Content-Length': 100 });
      res.write('{"par');
      throw late;
    });
    const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => logged.push(m) };
    const hosts = new HostPolicy({ bindHost: '127.0.0.1', allowedHosts: [], tunnelUrls: () => [] });
    const app = createApp({
      keys: new KeyStore(TEST_KEY, 'option'),
      hosts,
      maxBodyBytes: 1024,
      logger,
      publicRoutes: [],
      routes,
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps the whole answer, logs the error, and the server goes on serving', async () => {
    for (const path of ['/whole', '/whole-async']) {
      const r = await raw(url, 'GET', path, { 'x-api-key': TEST_KEY });
      assert.equal(r.status, 200, path);
      assert.deepEqual(r.body, { ok: true }, path);
    }
    assert.equal(logged.filter((m) => m.includes('too late')).length, 2);
    assert.equal((await raw(url, 'GET', '/elsewhere', { 'x-api-key': TEST_KEY })).status, 404);
  });

  it('ends the connection of an answer cut short, so it cannot pass for a whole one', async () => {
    await assert.rejects(raw(url, 'GET', '/cut', { 'x-api-key': TEST_KEY }));
    assert.equal(logged.filter((m) => m.includes('too late')).length, 3);
    assert.equal((await raw(url, 'GET', '/elsewhere', { 'x-api-key': TEST_KEY })).status, 404);
  });
});
