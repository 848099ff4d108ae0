// Terminal WebSocket frames as a fuzzer sends them (CONTRACT §4): text and binary, JSON that is invalid or
// of the wrong types, resize extremes, frames over the 64 KiB cap, floods of pings. A session must
// survive all but the oversized frame (which the server ends with 1009, a close it announces), answer
// every ping, and still echo what is typed afterwards; on both the command port's /terminal/ws and the
// terminal port.
import fc from 'fast-check';
import WebSocket from 'ws';

export type Frame =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'ping'; count: number }
  /** A WebSocket-level ping (opcode 9), which the library answers by itself. */
  | { kind: 'wsPing' };

export interface WsCase {
  port: 'command' | 'terminal';
  frames: Frame[];
}

/** The terminal's inbound message cap (its default). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

// The session runs `cat`, but typed signals would still end it (Ctrl+C, Ctrl+\) or stop it (Ctrl+Z), and
// Ctrl+D on an empty line ends cat: a session ended by its own process is not what is tested here.
const typed = fc.string({ unit: 'binary', maxLength: 200 }).map((s) => s.replace(/[\x03\x04\x1a\x1c]/g, ''));
const number = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 9, 10, 500, 501, 2, 200, 201, 1.5, 1e308, -1e308, 2 ** 31, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.integer(),
);
const anyValue = fc.oneof(number, fc.constantFrom(null, true, false, '', '80', ' 24 ', 'NaN', 'Infinity', '1e3', [], {}, [80], { valueOf: 80 }));

const jsonFrame = fc.oneof(
  { weight: 3, arbitrary: typed.map((data) => ({ type: 'input', data })) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('resize'), cols: fc.oneof(number, anyValue), rows: fc.oneof(number, anyValue) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('input'), data: anyValue }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('__proto__', 'constructor', 'toString', 'PING', '', 'exit', 'session', 'pong', 'error') }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('type', '__proto__', 'constructor', 'data', 'cols', 'rows'), anyValue, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const textFrame = fc.oneof(
  { weight: 6, arbitrary: jsonFrame.map((v) => JSON.stringify(v) ?? 'null') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      'ping',
      '{"type":"input","data":"x"',
      '\u0000{"type":"pong"}',
      '{"type":"ping"}{"type":"ping"}',
      '\ud800',
      '['.repeat(5000) + ']'.repeat(5000),
      '{"type":"input","data":"' + 'é'.repeat(30_000) + '"}',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
);

const frame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 10, arbitrary: textFrame.map((data): Frame => ({ kind: 'text', data })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a): Frame => ({ kind: 'binary', data: Buffer.from(a) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }).map((count): Frame => ({ kind: 'ping', count })) },
  { weight: 1, arbitrary: fc.constant<Frame>({ kind: 'wsPing' }) },
);

/** A frame just over the cap, or at it: the first ends the session (1009), the second does not. */
const edge = fc
  .constantFrom(MAX_MESSAGE_BYTES + 1, MAX_MESSAGE_BYTES - 64)
  .map((size): Frame => ({ kind: 'text', data: `{"type":"input","data":"${'a'.repeat(size - '{"type":"input","data":""}'.length)}"}` }));

export const wsCase: fc.Arbitrary<WsCase> = fc.record({
  port: fc.constantFrom<WsCase['port']>('command', 'terminal'),
  frames: fc.oneof(
    { weight: 8, arbitrary: fc.array(frame, { minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.tuple(fc.array(frame, { maxLength: 3 }), edge).map(([a, e]) => [...a, e]) },
  ),
});

export const oversized = (c: WsCase) => c.frames.some((f) => (f.kind === 'text' || f.kind === 'binary') && Buffer.byteLength(f.data) > MAX_MESSAGE_BYTES);

export interface WsOutcome {
  problems: string[];
}

/**
 * Runs one case on a new session: sends the frames, then a ping and a marker line, and expects a pong
 * for every ping and the marker echoed back (or, after an oversized frame, a 1009 close). Ends the
 * session with a 1000 close.
 */
export async function runWsCase(c: WsCase, urls: { command: string; terminal: string }, key: string, timeoutMs = 10_000): Promise<string[]> {
  const url = c.port === 'command' ? `${urls.command}/terminal/ws` : `${urls.terminal}/`;
  const ws = new WebSocket(url, { headers: { 'X-API-Key': key }, perMessageDeflate: false });
  let output = '';
  let pongs = 0;
  let closed: { code: number; reason: string } | undefined;
  let opened = false;
  ws.on('message', (data, isBinary) => {
    const text = data.toString();
    if (!isBinary && text.startsWith('\u0000')) {
      try {
        if (JSON.parse(text.slice(1)).type === 'pong') pongs++;
      } catch {
        // a terminal output that starts with NUL
      }
    } else output += text;
    if (output.length > 200_000) output = output.slice(-100_000);
  });
  ws.on('error', () => {});
  const closedP = new Promise<void>((r) => ws.once('close', (code, reason) => ((closed = { code, reason: reason.toString() }), r())));
  const openP = new Promise<void>((r) => ws.once('open', () => ((opened = true), r())));
  const wait = async (cond: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!cond() && !closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return cond();
  };
  const problems: string[] = [];
  try {
    await Promise.race([openP, closedP, new Promise((r) => setTimeout(r, timeoutMs))]);
    if (!opened) return [`the upgrade failed${closed ? ` (${closed.code})` : ''}`];
    let pings = 0;
    for (const f of c.frames) {
      if (closed) break;
      if (f.kind === 'text') ws.send(f.data, { binary: false });
      else if (f.kind === 'binary') ws.send(f.data, { binary: true });
      else if (f.kind === 'wsPing') ws.ping();
      else {
        for (let i = 0; i < f.count; i++) ws.send('{"type":"ping"}');
        pings += f.count;
      }
    }
    const marker = `fuzz-echo-${Math.random().toString(36).slice(2)}`;
    if (!closed) {
      ws.send('{"type":"ping"}');
      pings++;
      // Enter first: a line left unfinished by the frames (at the tty's line limit) would swallow the marker.
      ws.send(JSON.stringify({ type: 'input', data: `\r${marker}\r` }));
    }
    const answered = await wait(() => pongs >= pings && output.includes(marker), timeoutMs);
    if (oversized(c)) {
      if (!(await wait(() => closed !== undefined, timeoutMs)) && !closed) problems.push('an oversized frame did not end the session');
      else if (closed!.code !== 1009) problems.push(`an oversized frame ended the session with ${closed!.code}, not 1009`);
    } else if (closed) {
      problems.push(`the session was closed: ${closed.code} ${closed.reason}`);
    } else if (!answered) {
      problems.push(pongs < pings ? `${pongs} pongs for ${pings} pings` : 'what was typed was not echoed (hang)');
    }
  } finally {
    if (!closed) {
      ws.close(1000);
      await Promise.race([closedP, new Promise((r) => setTimeout(r, timeoutMs))]);
      if (!closed) {
        problems.push('the close handshake got no answer');
        ws.terminate();
      }
    }
  }
  return problems;
}

export function describeWsCase(c: WsCase): string {
  const show = (f: Frame) =>
    f.kind === 'text'
      ? f.data.length > 120
        ? `text ${JSON.stringify(f.data.slice(0, 120))}… (${f.data.length})`
        : `text ${JSON.stringify(f.data)}`
      : f.kind === 'binary'
        ? `binary ${f.data.length} bytes`
        : f.kind === 'ping'
          ? `${f.count} × {"type":"ping"}`
          : 'ws ping';
  return `${c.port} port: ${c.frames.map(show).join(', ')}`;
}
