// Shared by the client tests.
import assert from 'node:assert/strict';
import { AgentRuntimeError } from '../../src/client';

/** The error a call rejected with, checked to be the client's. */
export async function failure(p: Promise<unknown>): Promise<AgentRuntimeError> {
  const err = await p.then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AgentRuntimeError, String(err));
  return err;
}
