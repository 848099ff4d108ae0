// The core logs through this interface so each host decides where lines go
// (stderr for the CLI, a LogOutputChannel in VS Code).
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function consoleLogger(verbose = false): Logger {
  const line = (level: string, message: string) => process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
  return {
    debug: (m) => verbose && line('debug', m),
    info: (m) => line('info ', m),
    warn: (m) => line('warn ', m),
    error: (m) => line('error', m),
  };
}

/** Below this length a secret shows nothing at all: a few characters would be a large part of it. */
const REDACT_MIN_LENGTH = 24;

/**
 * Shows enough of a secret to recognise it, never enough to help guess it: at most an eighth of it and
 * at most 4 characters (a generated key has 43), and nothing of a short one.
 */
export function redact(secret: string): string {
  if (secret.length < REDACT_MIN_LENGTH) return '******** (short)';
  return `${secret.slice(0, Math.min(4, Math.floor(secret.length / 8)))}… (${secret.length} chars)`;
}
