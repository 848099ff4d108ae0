// What the client serves the agent: file reads and writes confined to the workdir, and terminals.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FsEvent, TerminalEvent } from '../../src/acp';
import { pidAlive, removeWorkdir, runScripted, script, tempWorkdir } from './helpers';

let workdir: string;
let outside: string;
before(() => {
  workdir = tempWorkdir();
  outside = tempWorkdir('acp-outside-');
  writeFileSync(join(workdir, 'notes.txt'), 'one\ntwo\nthree\nfour\n');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(outside, join(workdir, 'escape'));
});
after(() => {
  removeWorkdir(workdir);
  removeWorkdir(outside);
});

const fsEvents = (events: { type: string }[]) => events.filter((e): e is FsEvent => e.type === 'fs');
const terminalEvents = (events: { type: string }[]) => events.filter((e): e is TerminalEvent => e.type === 'terminal');
const terminalResult = (text: string) => JSON.parse(text.replace(/^terminal:/, ''));

describe('fs/read_text_file', () => {
  it('reads inside the workdir, whole or by line and limit', async () => {
    const file = join(workdir, 'notes.txt');
    const r = await runScripted(workdir, script({ read: { path: file } }, { say: '|' }, { read: { path: file, line: 2, limit: 2 } }));
    assert.equal(r.outputText, 'read:ok:one\ntwo\nthree\nfour\n|read:ok:two\nthree');
    assert.deepEqual(
      fsEvents(r.events).map((e) => [e.op, e.allowed, e.bytes]),
      [
        ['read', true, 19],
        ['read', true, 9],
      ],
    );
  });

  it('refuses paths outside the workdir, through symlinks too, and says so', async () => {
    const r = await runScripted(
      workdir,
      script({ read: { path: join(outside, 'secret.txt') } }, { say: '|' }, { read: { path: join(workdir, 'escape/secret.txt') } }),
    );
    assert.doesNotMatch(r.outputText, /secret(?!\.txt)/);
    const [a, b] = r.outputText.split('|');
    assert.match(a, /^read:error:-32602:access denied: .* is outside the workdir/);
    assert.match(b, /^read:error:-32602:access denied/);
    assert.deepEqual(
      fsEvents(r.events).map((e) => e.allowed),
      [false, false],
    );
  });

  it('answers resource-not-found for a missing file', async () => {
    const r = await runScripted(workdir, script({ read: { path: join(workdir, 'nope.txt') } }));
    assert.match(r.outputText, /^read:error:-32002:file not found/);
  });

  it('answers a missing file with empty content, as Zed does, to Gemini CLI (it reads before it writes), and says so', async () => {
    const missing = join(workdir, 'brand-new.txt');
    const gemini = await runScripted(workdir, script({ read: { path: missing } }, { say: '|' }, { write: { path: missing, content: 'made' } }), {
      agentEnv: { TEST_AGENT_NAME: 'gemini-cli' },
    });
    assert.equal(gemini.outputText, 'read:ok:|write:ok');
    assert.equal(readFileSync(missing, 'utf8'), 'made');
    const [read] = fsEvents(gemini.events);
    assert.equal(read.missing, true);
    assert.match(read.reason ?? '', /empty content/);
    // outside the workdir it is still refused, for Gemini too
    const out = await runScripted(workdir, script({ read: { path: join(outside, 'nothing.txt') } }), { agentEnv: { TEST_AGENT_NAME: 'gemini-cli' } });
    assert.match(out.outputText, /^read:error:-32602:access denied/);
    // the choice can be made for any agent
    const chosen = await runScripted(workdir, script({ read: { path: join(workdir, 'none.txt') } }), { missingFile: 'empty' });
    assert.equal(chosen.outputText, 'read:ok:');
    const strict = await runScripted(workdir, script({ read: { path: join(workdir, 'none.txt') } }), {
      missingFile: 'error',
      agentEnv: { TEST_AGENT_NAME: 'gemini-cli' },
    });
    assert.match(strict.outputText, /^read:error:-32002:file not found \(Resource not found\)/);
  });
});

describe('fs confinement against a folder swapped for a symlink (issue 15)', () => {
  it('never reads or writes outside while another process swaps a folder for a link to outside', async () => {
    const base = tempWorkdir('acp-race-');
    const far = tempWorkdir('acp-race-outside-');
    // `d`, a folder inside, is moved away and a link to the folder outside put in its place, then back
    const d = join(base, 'd');
    mkdirSync(d);
    writeFileSync(join(d, 'f.txt'), 'inside');
    writeFileSync(join(far, 'f.txt'), 'OUTSIDE');
    // a separate process, so the swaps really race the client's opens; a folder a write made in the gap
    // (inside, where writes may make folders) is cleared away so the swaps go on
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const [d, far] = process.argv.slice(1); const away = d + '.away';
         const hold = () => { const t = process.hrtime.bigint(); while (process.hrtime.bigint() - t < 50000n); };
         const clear = () => { try { fs.rmSync(d, { recursive: true, force: true }); } catch {} };
         for (;;) {
           try { fs.renameSync(d, away); } catch { clear(); continue; }
           try { fs.symlinkSync(far, d); hold(); } catch {}
           for (;;) { try { fs.renameSync(away, d); break; } catch { clear(); } }
           hold();
         }`,
        d,
        far,
      ],
      { stdio: 'ignore' },
    );
    try {
      const rounds = 1000;
      const steps = [];
      for (let i = 0; i < rounds; i++) steps.push({ read: { path: join(d, 'f.txt') } }, { write: { path: join(d, `w${i % 20}.txt`), content: 'written' } });
      const r = await runScripted(base, script(...steps));
      assert.equal(r.stopReason, 'end_turn', r.error ?? '');
      const reads = r.outputText.match(/read:(ok|error)/g) ?? [];
      assert.equal(reads.length, rounds);
      assert.equal((r.outputText.match(/OUTSIDE/g) ?? []).length, 0, 'a read returned the file outside');
      assert.ok((r.outputText.match(/read:ok:inside/g) ?? []).length > 0, 'some reads got through');
      assert.deepEqual(readdirSync(far), ['f.txt'], 'a write landed outside');
    } finally {
      swapper.kill('SIGKILL');
      removeWorkdir(base);
      removeWorkdir(far);
    }
  });
});

describe('fs/write_text_file', () => {
  it('writes atomically inside the workdir, creating directories and keeping the mode', async () => {
    const existing = join(workdir, 'script.sh');
    writeFileSync(existing, 'old');
    chmodSync(existing, 0o755);
    const fresh = join(workdir, 'deep/new/file.txt');
    const r = await runScripted(workdir, script({ write: { path: existing, content: 'new ✓' } }, { write: { path: fresh, content: 'hello' } }));
    assert.equal(r.outputText, 'write:okwrite:ok');
    assert.equal(readFileSync(existing, 'utf8'), 'new ✓');
    assert.equal(statSync(existing).mode & 0o777, 0o755);
    assert.equal(readFileSync(fresh, 'utf8'), 'hello');
    assert.deepEqual(
      readdirSync(workdir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    assert.deepEqual(
      fsEvents(r.events).map((e) => [e.op, e.allowed, e.bytes]),
      [
        ['write', true, 7],
        ['write', true, 5],
      ],
    );
  });

  it('refuses to write outside the workdir and leaves nothing there', async () => {
    const target = join(outside, 'planted.txt');
    const r = await runScripted(
      workdir,
      script({ write: { path: target, content: 'x' } }, { write: { path: join(workdir, 'escape/also.txt'), content: 'x' } }),
    );
    assert.match(r.outputText, /^write:error:-32602:access denied.*write:error:-32602:access denied/s);
    assert.ok(!existsSync(target));
    assert.ok(!existsSync(join(outside, 'also.txt')));
  });
});

describe('terminal/*', () => {
  it('runs a command line, collects both streams, reports the exit, and forgets it once released', async () => {
    const r = await runScripted(
      workdir,
      script({ terminal: { command: 'echo out; echo err >&2; echo "$GREETING $AGENT_VAR"; pwd; exit 3', env: [{ name: 'AGENT_VAR', value: 'from-agent' }] } }),
      { env: { GREETING: 'hi', TEST_AGENT_STATE_DIR: join(workdir, '../state') } },
    );
    const t = terminalResult(r.outputText);
    assert.deepEqual(t.exit, { exitCode: 3, signal: null });
    assert.equal(t.output, `out\nerr\nhi from-agent\n${workdir}\n`);
    assert.equal(t.truncated, false);
    assert.deepEqual(t.exitStatus, { exitCode: 3, signal: null });
    assert.match(t.afterRelease, /^-32002:unknown terminal/);
    assert.deepEqual(
      terminalEvents(r.events).map((e) => e.op),
      ['create', 'exit', 'release'],
    );
  });

  it('runs a program with arguments without a shell', async () => {
    const r = await runScripted(workdir, script({ terminal: { command: 'printf', args: ['%s|', 'a b', '$HOME'] } }));
    assert.equal(terminalResult(r.outputText).output, 'a b|$HOME|');
  });

  it('keeps the last outputByteLimit bytes, cut at a character boundary', async () => {
    // 3000 three-byte characters then a marker; a 100-byte limit cuts inside a character.
    const r = await runScripted(workdir, script({ terminal: { command: `node -e "process.stdout.write('€'.repeat(3000) + 'END')"`, outputByteLimit: 100 } }));
    const t = terminalResult(r.outputText);
    assert.equal(t.truncated, true);
    assert.ok(t.output.endsWith('END'));
    assert.ok(Buffer.byteLength(t.output) <= 100);
    assert.match(t.output, /^€+END$/);
  });

  it('kills the whole process group of a terminal', async () => {
    const pidFile = join(workdir, 'grandchild.pid');
    const r = await runScripted(workdir, script({ terminal: { command: `sleep 300 & echo $! > ${pidFile}; wait`, killAfterMs: 500 } }));
    const t = terminalResult(r.outputText);
    assert.equal(t.exit.signal, 'SIGTERM');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(grandchild > 0 && !pidAlive(grandchild), 'the background sleep died with its terminal');
    assert.deepEqual(
      terminalEvents(r.events).map((e) => e.op),
      ['create', 'kill', 'exit', 'release'],
    );
  });

  it('refuses a cwd outside the workdir', async () => {
    const r = await runScripted(workdir, script({ terminal: { command: 'pwd', cwd: outside } }));
    assert.match(r.outputText, /^terminal:error:-32602:terminal refused: cwd is outside the workdir/);
    assert.equal(terminalEvents(r.events)[0].op, 'refused');
  });

  it('ends terminals the agent left running when the session ends', async () => {
    mkdirSync(join(workdir, 'left'), { recursive: true });
    const pidFile = join(workdir, 'left/pid');
    const r = await runScripted(workdir, script({ terminal: { command: `echo $$ > ${pidFile}; exec sleep 300`, leave: true } }, { sleep: 300 }));
    assert.equal(r.stopReason, 'end_turn');
    assert.equal(r.outputText, 'terminal:left:term-1');
    assert.ok(!pidAlive(Number(readFileSync(pidFile, 'utf8'))));
  });
});
