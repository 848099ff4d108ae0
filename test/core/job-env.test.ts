// A job's environment: the server's, with the request's `env` over it and the API key taken out, by the
// rules of each platform (api.test.ts checks the same through a real job, here on POSIX).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jobEnv } from '../../src/server/jobs/manager';

const server = { Path: 'C:\\Windows', HOME: '/home/me', AGENT_RUNTIME_API_KEY: 'k1', Agent_Runtime_Api_Key: 'k2', agent_runtime_API_KEY: 'k3' };

describe('jobEnv', () => {
  it('on POSIX: names match exactly; the key names are taken out unless the request sets them', () => {
    assert.deepEqual(jobEnv(undefined, server, false), { Path: 'C:\\Windows', HOME: '/home/me', Agent_Runtime_Api_Key: 'k2' });
    assert.deepEqual(jobEnv({ PATH: '/bin', AGENT_RUNTIME_API_KEY: 'mine' }, server, false), {
      Path: 'C:\\Windows',
      HOME: '/home/me',
      Agent_Runtime_Api_Key: 'k2',
      PATH: '/bin',
      AGENT_RUNTIME_API_KEY: 'mine',
    });
  });

  it("on Windows: names match in any case, so no spelling of the key reaches a job and the request's `path` replaces `Path`", () => {
    assert.deepEqual(jobEnv(undefined, server, true), { Path: 'C:\\Windows', HOME: '/home/me' });
    assert.deepEqual(jobEnv({ path: 'D:\\tools' }, server, true), { HOME: '/home/me', path: 'D:\\tools' });
    // A key the request sets itself is the request's: passed on in its spelling, alone.
    assert.deepEqual(jobEnv({ agent_runtime_api_key: 'mine' }, server, true), { Path: 'C:\\Windows', HOME: '/home/me', agent_runtime_api_key: 'mine' });
  });

  it('keeps every name, `__proto__` included, as its own variable, from the server and from the request', () => {
    const overlay = JSON.parse('{"__proto__": "x", "A": "1"}') as Record<string, string>;
    const env = jobEnv(overlay, {}, false);
    assert.deepEqual(Object.keys(env), ['__proto__', 'A']);
    assert.equal(Object.getPrototypeOf(env), Object.prototype);
    const live = JSON.parse('{"__proto__": "y", "B": "2"}') as NodeJS.ProcessEnv;
    const inherited = jobEnv(undefined, live, false);
    assert.deepEqual(Object.entries(inherited), [
      ['__proto__', 'y'],
      ['B', '2'],
    ]);
    assert.equal(Object.getPrototypeOf(inherited), Object.prototype);
  });
});
