// Every bound of the client, with its default and the range it accepts.
import { resolveBounded, type Bounds } from '../common/bounds';

export interface AcpLimits {
  /** Longest line (one JSON-RPC message) accepted from the agent, bytes. A longer one ends the session. */
  maxLineBytes: number;
  /** Bytes read from the agent but not yet handled before its stdout is paused. */
  highWaterBytes: number;
  /** Lines that are not JSON-RPC tolerated on the agent's stdout; one more ends the session. */
  invalidLineTolerance: number;
  /** Agent stderr kept in memory (the most recent bytes). */
  stderrTailBytes: number;
  /** Agent text (and, separately, thought text) kept per turn; past it the oldest text is dropped. */
  maxOutputTextBytes: number;
  /** Events kept for the result (the most recent); `onEvent` still sees every one. */
  maxEvents: number;
  /** Tool calls tracked per turn (the oldest are forgotten past it). */
  maxToolCalls: number;
  /** Largest file `fs/read_text_file` reads. */
  maxReadBytes: number;
  /** Terminals open at once. */
  maxTerminals: number;
  /** Output kept per terminal when the agent sets no `outputByteLimit`, and the cap when it does. */
  terminalOutputBytes: number;
  /** After `session/cancel`, how long the agent has to end the turn before its process group is killed. */
  cancelGraceMs: number;
  /** Between TERM and KILL when ending the agent's (or a terminal's) process group. */
  killGraceMs: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const LIMITS: Bounds<keyof AcpLimits> = {
  maxLineBytes: { default: 32 * MiB, min: KiB, max: GiB },
  highWaterBytes: { default: 8 * MiB, min: 64 * KiB, max: GiB },
  invalidLineTolerance: { default: 0, min: 0, max: 10_000 },
  stderrTailBytes: { default: 64 * KiB, min: 0, max: 16 * MiB },
  maxOutputTextBytes: { default: 16 * MiB, min: KiB, max: GiB },
  maxEvents: { default: 1000, min: 0, max: 1_000_000 },
  maxToolCalls: { default: 1000, min: 1, max: 100_000 },
  maxReadBytes: { default: 16 * MiB, min: KiB, max: GiB },
  maxTerminals: { default: 16, min: 0, max: 256 },
  terminalOutputBytes: { default: MiB, min: KiB, max: 64 * MiB },
  cancelGraceMs: { default: 5000, min: 0, max: 60_000 },
  killGraceMs: { default: 2000, min: 0, max: 60_000 },
};

/** Fills defaults; a value out of its range is an error naming the limit. */
export function resolveLimits(partial: Partial<AcpLimits> = {}): AcpLimits {
  return resolveBounded(LIMITS, partial, 'limit');
}
