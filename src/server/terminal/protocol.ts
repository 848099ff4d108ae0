// The wire format of the terminal WebSocket (docs/terminal.md), compatible with the predecessor's
// (docs/COMPATIBILITY.md):
// client → server: JSON text frames `input`, `resize`, `ping`;
// server → client: raw terminal output as text frames, and control messages as a text frame of NUL + JSON.
import { isUtf8 } from 'node:buffer';
import { SIZE_LIMITS } from './options';

export type ClientFrame = { type: 'input'; data: string } | { type: 'resize'; cols: number; rows: number } | { type: 'ping' };

export type ControlMessage =
  | { type: 'session'; id: string; cols: number; rows: number; resumed: boolean }
  | { type: 'pong' }
  | { type: 'error'; message: string }
  | { type: 'exit'; exitCode: number | null; signal?: number; reason: TerminalEndReason };

/** Why a session ended: the shell exited, a limit ended it, someone deleted it, or the server stopped. */
export type TerminalEndReason = 'exit' | 'idle' | 'lifetime' | 'grace' | 'closed' | 'deleted' | 'shutdown';

/** WebSocket close codes the service uses, beyond the standard 1000/1009/1011. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  /** Received when the peer's close frame had no code: what `ws.close()` and a browser's `close()` send. */
  noStatus: 1005,
  policy: 1008,
  internal: 1011,
  tryAgainLater: 1013,
  /** `?session=ID` names no live session (never existed, ended, or its grace period ran out). */
  sessionNotFound: 4404,
  /** The client read so slowly that it held the terminal paused longer than `stallTimeoutMs`. */
  tooSlow: 4408,
} as const;

export function controlFrame(message: ControlMessage): string {
  return `\u0000${JSON.stringify(message)}`;
}

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: string };

/** Validates one inbound text frame. Never throws: a bad frame gets an error message, not a dropped socket. */
export function parseClientFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'frame must be a JSON object' };
  const msg = value as Record<string, unknown>;
  switch (msg.type) {
    case 'input':
      if (typeof msg.data !== 'string') return { ok: false, error: 'input.data must be a string' };
      return { ok: true, frame: { type: 'input', data: msg.data } };
    case 'resize': {
      const cols = toDimension(msg.cols);
      const rows = toDimension(msg.rows);
      if (cols === undefined || rows === undefined) return { ok: false, error: 'resize.cols and resize.rows must be positive numbers' };
      return { ok: true, frame: { type: 'resize', ...clampSize(cols, rows) } };
    }
    case 'ping':
      return { ok: true, frame: { type: 'ping' } };
    default:
      return { ok: false, error: `unknown frame type ${JSON.stringify(msg.type)} (expected input, resize or ping)` };
  }
}

function toDimension(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/** Clamps a terminal size to 10–500 columns and 2–200 rows. */
export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.floor(v)));
  return {
    cols: clamp(cols, SIZE_LIMITS.minCols, SIZE_LIMITS.maxCols),
    rows: clamp(rows, SIZE_LIMITS.minRows, SIZE_LIMITS.maxRows),
  };
}

/** `cols`/`rows` from the connection's query; absent or unreadable values fall back to 80×24. */
export function sizeFromQuery(cols: string | null, rows: string | null): { cols: number; rows: number } {
  return clampSize(toDimension(cols) ?? SIZE_LIMITS.defaultCols, toDimension(rows) ?? SIZE_LIMITS.defaultRows);
}

/**
 * Cuts PTY output (bytes) into pieces that are whole, valid UTF-8, so every text frame is valid and no
 * character is split across frames. The PTY is read as bytes, not strings: decoding to send it re-encoded
 * would cost two passes over every byte. A character cut by a read waits for the rest in the next one;
 * bytes that are not UTF-8 at all (a binary `cat`) become U+FFFD, as a terminal would show them.
 */
export class Utf8Framer {
  private held: Buffer | undefined;

  push(chunk: Buffer | string): Buffer {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (this.held) {
      bytes = Buffer.concat([this.held, bytes]);
      this.held = undefined;
    }
    const cut = completeLength(bytes);
    if (cut < bytes.length) {
      this.held = Buffer.from(bytes.subarray(cut));
      bytes = bytes.subarray(0, cut);
    }
    return isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'), 'utf8');
  }

  /** What is left at the end of the stream: an incomplete character becomes U+FFFD. */
  end(): Buffer {
    const rest = this.held;
    this.held = undefined;
    return rest ? Buffer.from(rest.toString('utf8'), 'utf8') : Buffer.alloc(0);
  }
}

/** Length of `bytes` without a trailing, incomplete UTF-8 sequence (one that the next read may finish). */
function completeLength(bytes: Buffer): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(4, n); back++) {
    const b = bytes[n - back];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead byte
    const need = b < 0x80 ? 1 : (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 1;
    return back < need ? n - back : n;
  }
  return n;
}
