// GET /openapi.json describes exactly the routes the server serves.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AcpRunner } from '../../src/server/modes/acp/runner';
import type { RouteSpec } from '../../src/server/http/route-spec';
import { sendJson } from '../../src/server/http/respond';
import { startTestServer, type TestServer } from '../helpers/server';

/** `METHOD /path` of every operation in the server's document. */
async function documented(s: TestServer): Promise<string[]> {
  const { status, body: doc } = await s.call('GET', '/openapi.json');
  assert.equal(status, 200);
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

/** The ACP mode with one more route, as a host's own runner might bring. */
class ProbeRunner extends AcpRunner {
  override routes(): RouteSpec[] {
    const probe: RouteSpec = {
      method: 'get',
      path: '/probe/:id',
      auth: 'key',
      doc: { summary: 'a route only this server has', responses: { '200': { description: 'OK' } } },
      handler: (req, res) => sendJson(res, 200, { probe: req.params.id }),
    };
    return [...super.routes(), probe];
  }
}

describe('OpenAPI document', () => {
  it('lists every served route, and serves every listed one', async () => {
    const s = await startTestServer();
    try {
      const { status, body: doc } = await s.call('GET', '/openapi.json');
      assert.equal(status, 200);
      assert.equal(doc.openapi, '3.1.0');
      const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
        .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
        .sort();
      assert.deepEqual(s.server.routes(), documented);
      for (const route of documented) {
        const [method, path] = route.split(' ');
        const r = await s.call(method, path.replace(/\{\w+\}/g, 'no-such-id'));
        assert.notDeepEqual(r.body, { error: 'not found' }, `${route} is served`);
      }
    } finally {
      await s.close();
    }
  });
});

describe('OpenAPI documents of two servers in one process', () => {
  it('each describes its own routes: a route of one is not in the other', async () => {
    const plain = await startTestServer();
    const probed = await startTestServer({}, { runners: [new ProbeRunner({ killGraceMs: 500 })] });
    try {
      const [plainDoc, probedDoc] = [await documented(plain), await documented(probed)];
      assert.ok(probedDoc.includes('GET /probe/{id}'));
      assert.ok(!plainDoc.includes('GET /probe/{id}'), "the plain server does not describe the other server's route");
      assert.deepEqual(plainDoc, plain.server.routes());
      assert.deepEqual(probedDoc, probed.server.routes());
      assert.deepEqual((await probed.call('GET', '/probe/7')).body, { probe: '7' });
      assert.equal((await plain.call('GET', '/probe/7')).status, 404);
    } finally {
      await Promise.all([plain.close(), probed.close()]);
    }
  });
});
