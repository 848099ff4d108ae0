// The terminator scanner on its own: every way a stream can be cut into chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTerminator, partialMatchLength, TerminatorScanner } from '../../src/server/modes/persistent-shell/boundary';

function feed(chunks: Buffer[], term: Buffer, withLine = true) {
  const out: Buffer[] = [];
  const s = new TerminatorScanner(term, (c) => out.push(Buffer.from(c)), withLine);
  const after: Buffer[] = [];
  for (const c of chunks) after.push(s.push(c));
  return { s, out: Buffer.concat(out), after: Buffer.concat(after) };
}

test('terminators are fresh: a record separator and 32 hex digits', () => {
  const a = newTerminator();
  assert.match(a.toString('latin1'), /^\x1e[0-9a-f]{32}$/);
  assert.notDeepEqual(a, newTerminator());
});

test('finds the terminator and the status line however the stream is cut', () => {
  const term = newTerminator();
  const lookalike = Buffer.concat([term.subarray(0, 20), Buffer.from('zz'), Buffer.from([0x1e])]);
  const body = Buffer.concat([Buffer.from('out put\n€'), lookalike, Buffer.from([0xff, 0x00])]);
  const stream = Buffer.concat([body, term, Buffer.from('17\nlater')]);
  for (let i = 0; i <= stream.length; i++) {
    for (const j of [i, Math.min(stream.length, i + 1), Math.min(stream.length, i + 7)]) {
      const r = feed([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)], term);
      assert.deepEqual(r.out, body, `cut at ${i}/${j}`);
      assert.equal(r.s.done, true);
      assert.equal(r.s.line, '17');
      assert.equal(r.after.toString(), 'later');
    }
  }
});

test('holds back only what could start the terminator, and releases it when ruled out or at the end', () => {
  const term = newTerminator();
  const out: Buffer[] = [];
  const s = new TerminatorScanner(term, (c) => out.push(Buffer.from(c)), false);
  s.push(Buffer.concat([Buffer.from('abc'), term.subarray(0, 5)]));
  assert.equal(Buffer.concat(out).toString('latin1'), 'abc');
  s.push(Buffer.from('!'));
  assert.deepEqual(Buffer.concat(out), Buffer.concat([Buffer.from('abc'), term.subarray(0, 5), Buffer.from('!')]));
  s.push(term.subarray(0, 3));
  s.flush();
  assert.deepEqual(Buffer.concat(out), Buffer.concat([Buffer.from('abc'), term.subarray(0, 5), Buffer.from('!'), term.subarray(0, 3)]));
  assert.equal(s.done, false);
});

test('stderr has no status line: done right at the terminator', () => {
  const term = newTerminator();
  const r = feed([Buffer.concat([Buffer.from('e'), term, Buffer.from('x')])], term, false);
  assert.deepEqual([r.out.toString(), r.s.done, r.after.toString()], ['e', true, 'x']);
});

test('partialMatchLength', () => {
  const term = Buffer.from('\x1eabc');
  assert.equal(partialMatchLength(Buffer.from('xx\x1eab'), term), 3);
  assert.equal(partialMatchLength(Buffer.from('xx\x1e'), term), 1);
  assert.equal(partialMatchLength(Buffer.from('xxab'), term), 0);
  assert.equal(partialMatchLength(Buffer.from(''), term), 0);
});
