// Bad input gets a clear 4xx JSON error, never a dropped connection or a 5xx, and loses nothing stored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunked, startTestServer, type TestServer } from '../helpers/server';

describe('bad input', () => {
  let s: TestServer;
  let keptJob: any;
  before(async () => {
    s = await startTestServer({ maxBodyBytes: 4096 });
    keptJob = await s.run({ command: 'echo kept' });
  });
  after(() => s.close());

  const cases: Array<[string, unknown, number, RegExp]> = [
    ['malformed JSON', '{"command": "echo', 400, /malformed JSON/],
    ['a JSON array', '[1,2]', 400, /JSON object/],
    ['a JSON string', '"echo hi"', 400, /JSON object/],
    ['null', 'null', 400, /JSON object|command is required/],
    ['no command', {}, 400, /command is required/],
    ['an empty command', { command: '' }, 400, /command is required/],
    ['a command that is not a string', { command: ['ls'] }, 400, /command must be a string/],
    ['a timeout as a string', { command: 'true', timeout: '10' }, 400, /timeout must be a number/],
    ['a negative timeout', { command: 'true', timeout: -1 }, 400, /timeout must be more than 0/],
    ['a zero timeout', { command: 'true', timeout: 0 }, 400, /timeout must be more than 0/],
    ['an absurd timeout', { command: 'true', timeout: 1e12 }, 400, /at most/],
    ['env values that are not strings', { command: 'true', env: { A: 1 } }, 400, /env must be an object of string/],
    ['env as an array', { command: 'true', env: ['A=1'] }, 400, /env must be an object of string/],
    ['an unknown mode', { command: 'true', mode: 'teleport' }, 400, /unsupported mode: teleport/],
    ['a mode that is not a string', { command: 'true', mode: 3 }, 400, /mode must be a string/],
    ['a workdir that does not exist', { command: 'true', workdir: '/no/such/dir' }, 400, /workdir does not exist/],
    ['a workdir that is a file', { command: 'true', workdir: __filename }, 400, /workdir is not a directory/],
    ['a workdir that is not a string', { command: 'true', workdir: 5 }, 400, /workdir must be a string/],
    ['a body over the limit', { command: `echo ${'x'.repeat(5000)}` }, 413, /larger than 4096 bytes \(maxBodyBytes\)/],
  ];

  // A body of declared length and a chunked one are read differently: both must answer every case alike.
  const paths = {
    'declared length': (text: string) => s.call('POST', '/exec', text),
    chunked: (text: string) => s.call('POST', '/exec', chunked(text)),
  };
  for (const [what, body, status, message] of cases) {
    for (const [path, post] of Object.entries(paths)) {
      it(`rejects ${what} with ${status} (${path})`, async () => {
        const before = (await s.call('GET', '/jobs')).body.length;
        const r = await post(typeof body === 'string' ? body : JSON.stringify(body));
        assert.equal(r.status, status, JSON.stringify(r.body));
        assert.equal(typeof r.body.error, 'string');
        assert.match(r.body.error, message);
        assert.equal((await s.call('GET', '/jobs')).body.length, before, 'nothing was added');
      });
    }
  }

  it('rejects bad queries and bodies on the other routes', async () => {
    const id = keptJob.jobId;
    for (const q of ['tailLines=-1', 'stdoutFrom=abc', 'stderrFrom=1.5', 'wait=soon']) {
      const r = await s.call('GET', `/jobs/${id}?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.error, /must be/);
    }
    const r1 = await s.call('POST', `/jobs/${id}/input`, { data: 5 });
    assert.equal(r1.status, 400);
    const r2 = await s.call('POST', `/jobs/${id}/input`, { data: 'x', eof: 'yes' });
    assert.equal(r2.status, 400);
    const r3 = await s.call('POST', `/jobs/${id}/cancel`);
    assert.equal(r3.status, 409);
    assert.equal(r3.body.error, 'job already finished');
    const r4 = await s.call('GET', `/jobs/${id}/stream`, undefined, { 'Last-Event-ID': 'garbage' });
    assert.equal(r4.status, 400);
    const r5 = await s.call('POST', '/exec', { command: 'true' }, { 'Idempotency-Key': 'x'.repeat(300) });
    assert.equal(r5.status, 400);
  });

  it('loses nothing already stored', async () => {
    const r = await s.call('GET', `/jobs/${keptJob.jobId}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.stdout, 'kept\n');
  });

  it('a command that cannot start fails the job clearly, without a 5xx', async () => {
    const dir = s.stateDir;
    writeFileSync(join(dir, 'not-exec.sh'), 'echo hi');
    const job = await s.run({ command: `${join(dir, 'not-exec.sh')}` });
    assert.equal(job.status, 'failed');
    assert.equal(job.exitCode, 126);
    assert.match(job.stderr, /Permission denied/);
  });
});
