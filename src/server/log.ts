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

/** Shows enough of a secret to recognise it, never enough to use it. */
export function redact(secret: string): string {
  return secret.length <= 8 ? '********' : `${secret.slice(0, 4)}…${secret.slice(-2)} (${secret.length} chars)`;
}
