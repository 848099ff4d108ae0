// The client's route types are generated from the server's own OpenAPI document: this fails when a
// route's description changed and `npm run client:types` was not run, so the two never part ways.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GENERATED_TYPES, generatedTypes } from '../../scripts/client-types';

describe('client types', () => {
  it('src/client/generated/openapi.ts is what the server document generates', async () => {
    const fresh = await generatedTypes();
    assert.ok(fresh.includes("'/files/content'") && fresh.includes('Job: {'), 'the generator produced the routes');
    assert.equal(readFileSync(GENERATED_TYPES, 'utf8'), fresh, 'stale: run `npm run client:types`');
  });
});
