// GET /openapi.json describes exactly the routes the server serves.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';

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
