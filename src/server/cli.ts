// `agent-server`: the core, headless, for VMs. `agent-server key` shows or rotates the API key.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { KeyStore, KEY_FILE_NAME } from './auth';
import { NUMERIC_OPTIONS, resolveOptions, type ServerOptions } from './config';
import { consoleLogger, redact } from './log';
import { defaultStateDir } from './platform';
import { startServer } from './server';
import { TERMINAL_LIMITS, type TerminalOptions } from './terminal/options';
import { VERSION } from './version';

/** The exit code that asks `agent-server --wrapper` to update and restart (the seed's). */
export const RESTART_EXIT_CODE = 42;

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const numericFlags = Object.keys(NUMERIC_OPTIONS).map((name) => [kebab(name), name] as const);
const terminalFlags = Object.keys(TERMINAL_LIMITS).map((name) => [`terminal-${kebab(name)}`, name] as const);

const USAGE = `agent-server ${VERSION}: run commands, terminals and ACP agents on this machine for remote orchestrators.

Usage:
  agent-server [options]          start the server
  agent-server key [--rotate]     print the API key (--rotate makes a new one first)

Options:
  --host ADDR                     bind address (default 127.0.0.1; 0.0.0.0 exposes on the network)
  --state-dir DIR                 key file, job records and logs (default ${defaultStateDir()})
  -v, --verbose                   debug logging
  -h, --help                      this help
  --version                       print the version
${numericFlags
  .filter(([flag]) => flag !== 'host')
  .map(([flag, name]) => {
    const b = NUMERIC_OPTIONS[name as keyof typeof NUMERIC_OPTIONS];
    const def = typeof b.default === 'number' ? b.default : 'port + 1';
    return `  --${`${flag} N`.padEnd(30)}${name} (default ${def}, ${b.min}–${b.max})`;
  })
  .join('\n')}
  --terminal-shell PATH           shell of new terminals (default $SHELL, else bash, else sh; PowerShell on Windows)
${terminalFlags
  .map(([flag, name]) => {
    const b = TERMINAL_LIMITS[name as keyof typeof TERMINAL_LIMITS];
    return `  --${`${flag} N`.padEnd(29)} terminal ${name} (default ${b.default}, ${b.min}–${b.max})`;
  })
  .join('\n')}

The API key comes from AGENT_RUNTIME_API_KEY (or DEVPILOT_AGENT_API_KEY, agent_runtime_API_KEY), else from
the key file in the state dir, else a new one is generated and stored there (mode 0600).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      host: { type: 'string' },
      'state-dir': { type: 'string' },
      rotate: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      ...Object.fromEntries(numericFlags.map(([flag]) => [flag, { type: 'string' as const }])),
      ...Object.fromEntries(terminalFlags.map(([flag]) => [flag, { type: 'string' as const }])),
      'terminal-shell': { type: 'string' },
    },
  });
  if (values.help) return print(USAGE);
  if (values.version) return print(VERSION);
  const stateDir = (values['state-dir'] as string | undefined) ?? defaultStateDir();
  if (positionals[0] === 'key') return keyCommand(stateDir, Boolean(values.rotate));
  if (positionals.length > 0) throw new UsageError(`unknown command: ${positionals[0]}`);

  const partial: Partial<ServerOptions> = { stateDir, host: values.host as string | undefined };
  for (const [flag, name] of numericFlags) {
    const v = (values as Record<string, unknown>)[flag] as string | undefined;
    if (v !== undefined) (partial as Record<string, number>)[name] = parseInteger(flag, v);
  }
  const terminal: Partial<TerminalOptions> = { shell: values['terminal-shell'] as string | undefined };
  for (const [flag, name] of terminalFlags) {
    const v = (values as Record<string, unknown>)[flag] as string | undefined;
    if (v !== undefined) (terminal as Record<string, number>)[name] = parseInteger(flag, v);
  }
  return serve(resolveOptions(partial), Boolean(values.verbose), terminal);
}

async function serve(options: ServerOptions, verbose: boolean, terminal: Partial<TerminalOptions>): Promise<number> {
  const logger = consoleLogger(verbose);
  let exitCode = 0;
  let stopping = false;
  const server = await startServer(options, {
    logger,
    terminal: { options: terminal },
    update: () => ({
      response: { status: 'updating', version: VERSION, message: 'Server will restart for update' },
      after: () => stop(RESTART_EXIT_CODE),
    }),
  });
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    void server.close().then(() => process.exit(exitCode));
  };
  banner(server.url, server.terminalPort, server.keys);
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));
  return new Promise<number>(() => {}); // runs until a signal or an update ends the process
}

function banner(url: string, terminalPort: number | null, keys: KeyStore): void {
  const where = keys.source === 'option' ? 'given by the host' : keys.source === 'env' ? 'from the environment' : `in ${keys.filePath}`;
  process.stderr.write(
    [
      `agent-runtime ${VERSION}`,
      `  command server  ${url}`,
      `  terminal        ${url}/terminal (web page), ws on ${url}/terminal/ws${terminalPort ? ` and port ${terminalPort}` : ''}`,
      `  API key         ${redact(keys.current())} ${where}; \`agent-server key\` prints it`,
      '',
    ].join('\n'),
  );
}

function keyCommand(stateDir: string, rotate: boolean): number {
  const keys = KeyStore.load(stateDir, { env: rotate ? {} : process.env });
  if (rotate) {
    keys.rotate();
    process.stderr.write(`new key stored in ${join(stateDir, KEY_FILE_NAME)}; a running server picks it up on restart\n`);
  }
  return print(keys.current());
}

function parseInteger(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${flag} takes a whole number (got "${v}")`);
  return Number(v);
}

class UsageError extends Error {}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      const usage = err instanceof UsageError || err instanceof RangeError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
      process.stderr.write(`agent-server: ${err.message}\n${usage ? 'Try `agent-server --help`.\n' : ''}`);
      process.exit(usage ? 2 : 1);
    },
  );
}
