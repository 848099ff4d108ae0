// The wire format of the terminal WebSocket (CONTRACT §4), seed-compatible:
// client → server: JSON text frames `input`, `resize`, `ping`;
// server → client: raw terminal output as text frames, and control messages as a text frame of NUL + JSON.
import { StringDecoder } from 'node:string_decoder';
import { SIZE_LIMITS } from './options';

export type ClientFrame =
  | { type: 'input'; data: string }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'ping' };

export type ControlMessage =
  | { type: 'session'; id: string; cols: number; rows: number; resumed: boolean }
  | { type: 'pong' }
  | { type: 'error'; message: string }
  | { type: 'exit'; exitCode: number | null; signal?: number; reason: EndReason };

/** Why a session ended: the shell exited, a limit ended it, someone deleted it, or the server stopped. */
export type EndReason = 'exit' | 'idle' | 'lifetime' | 'grace' | 'closed' | 'deleted' | 'shutdown';

/** WebSocket close codes the service uses, beyond the standard 1000/1009/1011. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
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
 * Turns PTY output into strings that never end inside a character, so every frame is valid UTF-8.
 * node-pty already decodes with a StringDecoder when spawned with `encoding: 'utf8'`; a host-provided
 * module may hand out Buffers instead, and a string may still end on half a surrogate pair.
 */
export class Utf8Chunker {
  private readonly decoder = new StringDecoder('utf8');
  private heldSurrogate = '';

  push(chunk: string | Buffer): string {
    const text = this.heldSurrogate + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.heldSurrogate = text.slice(-1);
      return text.slice(0, -1);
    }
    this.heldSurrogate = '';
    return text;
  }

  /** What is left at the end of the stream (an incomplete character becomes U+FFFD). */
  end(): string {
    const rest = this.heldSurrogate + this.decoder.end();
    this.heldSurrogate = '';
    return rest.replace(/[\ud800-\udbff]$/, '\ufffd');
  }
}
