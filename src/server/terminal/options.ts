// Every limit of the terminal service, with its default (the predecessor's where it had one) and its bounds.
import { resolveBounded, type Bounds } from '../../common/bounds';

export interface TerminalOptions {
  /** Live sessions at once, attached or waiting for a reconnect. */
  maxSessions: number;
  /** A session with no input and no output for this long is ended. */
  idleTimeoutMs: number;
  /** A session is ended this long after it started, whatever it is doing. */
  maxLifetimeMs: number;
  /** How long a session whose last client dropped waits for a reconnect before it is ended. */
  reconnectGraceMs: number;
  /** Largest inbound WebSocket message; a bigger one closes the connection with 1009. */
  maxMessageBytes: number;
  /** Lines of history kept per session beyond the visible screen, replayed on reconnect. */
  scrollbackLines: number;
  /** Output queued for one client (or for the screen) above which the PTY is paused. */
  highWaterBytes: number;
  /** Queued output below which a paused PTY resumes. */
  lowWaterBytes: number;
  /** A client that holds the PTY paused this long is closed (4408) so the others can go on. */
  stallTimeoutMs: number;
  /** Clients attached to one session at once. */
  maxClientsPerSession: number;
  /** Lifetime of a ticket from `POST /terminal/tickets`. */
  ticketTtlMs: number;
  /** Tickets issued and not yet used or expired; more are refused with 429. */
  maxTickets: number;
  /** Interval of WebSocket pings; a client that misses one is treated as dropped. */
  heartbeatMs: number;
  /** The shell to start; default `$SHELL`, else bash, else sh (PowerShell on Windows). */
  shell?: string;
  /** Working directory when a connection names none; default the server's cwd. */
  defaultWorkdir?: string;
}

const MINUTE = 60_000;
const MIB = 1024 * 1024;

export const TERMINAL_LIMITS: Bounds<Exclude<keyof TerminalOptions, 'shell' | 'defaultWorkdir'>> = {
  maxSessions: { default: 2, min: 1, max: 100 },
  idleTimeoutMs: { default: 15 * MINUTE, min: 1000, max: 24 * 60 * MINUTE },
  maxLifetimeMs: { default: 60 * MINUTE, min: 1000, max: 7 * 24 * 60 * MINUTE },
  reconnectGraceMs: { default: 5 * MINUTE, min: 0, max: 24 * 60 * MINUTE },
  maxMessageBytes: { default: 64 * 1024, min: 1024, max: 16 * MIB },
  scrollbackLines: { default: 1000, min: 0, max: 100_000 },
  highWaterBytes: { default: 1 * MIB, min: 16 * 1024, max: 64 * MIB },
  lowWaterBytes: { default: 256 * 1024, min: 0, max: 64 * MIB },
  stallTimeoutMs: { default: 60_000, min: 1000, max: 60 * MINUTE },
  maxClientsPerSession: { default: 8, min: 1, max: 64 },
  ticketTtlMs: { default: 30_000, min: 1000, max: 10 * MINUTE },
  maxTickets: { default: 100, min: 1, max: 10_000 },
  heartbeatMs: { default: 30_000, min: 1000, max: 10 * MINUTE },
};

/** Resize requests are clamped to these (docs/terminal.md); not options, because the contract fixes them. */
export const SIZE_LIMITS = { minCols: 10, maxCols: 500, minRows: 2, maxRows: 200, defaultCols: 80, defaultRows: 24 } as const;

/**
 * Fills in defaults and checks every given value against its bounds.
 * Throws a RangeError naming the option, so a bad flag or setting fails at startup, not at first use.
 */
export function resolveTerminalOptions(given: Partial<TerminalOptions> = {}): TerminalOptions {
  const options: TerminalOptions = { ...resolveBounded(TERMINAL_LIMITS, given, 'terminal option'), shell: given.shell, defaultWorkdir: given.defaultWorkdir };
  if (given.lowWaterBytes === undefined) options.lowWaterBytes = Math.min(options.lowWaterBytes, Math.floor(options.highWaterBytes / 4));
  if (options.lowWaterBytes >= options.highWaterBytes) {
    throw new RangeError(`terminal option lowWaterBytes (${options.lowWaterBytes}) must be below highWaterBytes (${options.highWaterBytes})`);
  }
  for (const name of ['shell', 'defaultWorkdir'] as const) {
    const value = given[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new RangeError(`terminal option ${name} must be a non-empty string`);
    }
  }
  return options;
}
