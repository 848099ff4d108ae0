// The screen state kept for replay: what it serializes must equal what a terminal that parsed every byte
// shows, including when a flood is thinned out unparsed by the screen queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Terminal } from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import { Screen } from '../../src/server/terminal/screen';
import { ScreenQueue } from '../../src/server/terminal/screen-queue';

type Step = string | { cols: number; rows: number };

/** Parses every byte, in order, the slow and obviously right way. */
async function reference(cols: number, rows: number, scrollback: number, steps: Step[]): Promise<string> {
  const term = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
  const ser = new SerializeAddon();
  term.loadAddon(ser as never);
  for (const step of steps) {
    if (typeof step === 'string') await new Promise<void>((r) => term.write(step, r));
    else term.resize(step.cols, step.rows);
  }
  const out = ser.serialize({ scrollback });
  term.dispose();
  return out;
}

async function throughScreen(cols: number, rows: number, scrollback: number, steps: Step[], chunk = 4096) {
  const screen = new Screen(cols, rows, scrollback, 1 << 30);
  for (const step of steps) {
    if (typeof step === 'string') for (let i = 0; i < step.length; i += chunk) screen.write(step.slice(i, i + chunk));
    else screen.resize(step.cols, step.rows);
  }
  const out = await new Promise<string>((r) => screen.whenIdle(() => r(screen.serialize())));
  const skipped = screen.skipped;
  screen.dispose();
  return { out, skipped };
}

function lines(n: number, prefix: string, width = 70): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${prefix}${i} ${'x'.repeat(i % width)}\r\n`;
  return s;
}

test('a plain flood is thinned out and the screen is still exactly right', async () => {
  const steps: Step[] = ['\x1b[1;32mprompt$\x1b[0m cat big\r\n', lines(20_000, 'line '), '\x1b[31mred tail\x1b[0m\r\n$ '];
  const want = await reference(80, 24, 100, steps);
  const got = await throughScreen(80, 24, 100, steps);
  assert.equal(got.out, want);
  assert.ok(got.skipped > 500_000, `expected most of the flood skipped, skipped ${got.skipped}`);
});

test('floods inside the alternate screen, a scroll region, wide characters and resizes stay exact', async () => {
  const steps: Step[] = [
    lines(300, 'before '),
    '\x1b[?1049h\x1b[H\x1b[2J',
    lines(5000, 'alt 日本語 '),
    '\x1b[5;20r\x1b[10;1H',
    lines(5000, 'region '),
    '\x1b[r\x1b[?1049l',
    { cols: 100, rows: 30 },
    lines(5000, 'after resize ', 90),
    '\x1b[?2004h\x1b[?1h\x1b[?25l',
    lines(3000, 'é ', 120),
    { cols: 40, rows: 10 },
    'last line without newline',
  ];
  const want = await reference(80, 24, 200, steps);
  const got = await throughScreen(80, 24, 200, steps, 1000);
  assert.equal(got.out, want);
  assert.ok(got.skipped > 0);
});

test('text inside an unfinished escape sequence or OSC string is never skipped', async () => {
  // An OSC title left open swallows the following lines; skipping them would end the string elsewhere.
  const steps: Step[] = ['\x1b]0;title ', lines(5000, 'in osc '), '\x07', lines(50, 'after '), '\x1b[', lines(3000, '12;'), 'm', lines(40, 'z ')];
  const want = await reference(80, 24, 50, steps);
  const got = await throughScreen(80, 24, 50, steps, 777);
  assert.equal(got.out, want);
});

test('multi-byte characters whose bytes look like C1 controls, and real C1 controls, are told apart', async () => {
  // ě is C4 9B and ḟ is E1 B8 9F: their last bytes are the codes of CSI and APC. U+009B is a real CSI.
  const steps: Step[] = [
    '\x1b]0;title ě ḟ\x07',
    lines(4000, 'ě ḟ ° © '),
    '\u009b31mred by a C1 CSI\u009b0m\r\n',
    '\x1b]0;ěěě',
    lines(3000, 'inside an open OSC ě '),
    '\x07',
    lines(60, 'after ḟ '),
  ];
  const want = await reference(80, 24, 50, steps);
  const got = await throughScreen(80, 24, 50, steps, 1001);
  assert.equal(got.out, want);
  assert.ok(got.skipped > 0);
});

test('the queue keeps the last keepLines line feeds of a plain run and drops before them', () => {
  const q = new ScreenQueue(10);
  q.push(Buffer.from('\x1b[0m'));
  for (let i = 0; i < 100; i++) q.push(Buffer.from(`l${i}\n`));
  const text = q
    .take()
    .map((b) => Buffer.from(b as Uint8Array).toString('utf8'))
    .join('');
  assert.ok(text.startsWith('\x1b[0m'), 'the escape sequence before the run is kept');
  const kept = text.slice(4).split('\n').filter(Boolean);
  assert.ok(kept.length >= 10 && kept.length < 20, `kept ${kept.length} lines`);
  assert.equal(kept.at(-1), 'l99');
  assert.ok(q.skipped > 0);
});
