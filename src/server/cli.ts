// `agent-server`: the core, headless, for VMs. `agent-server key` shows or rotates the API key.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { KeyStore, KEY_FILE_NAME } from './auth';
import { NUMERIC_OPTIONS, resolveOptions, type ServerOptions } from './config';
import { consoleLogger, redact, type Logger } from './log';
import { defaultStateDir } from '../common/platform';
import { startReach, type Reach, type ReachOptions } from './reach';
import { dashboardBase, type ChallengeEvent } from './register';
import { startServer, type AgentServer, type ServerDeps } from './server';
import { securePrivateState } from './private-state';
import { RESTART_EXIT_CODE, resolveUpdateCommand, UPDATE_COMMAND_ENV, Wrapper, WRAPPED_ENV } from './update/wrapper';
import { PACKAGE_NAME, VERSION } from './version';
import { TERMINAL_LIMITS, type TerminalOptions } from './terminal/options';
import { MCP_LIMITS, type McpOptions } from './mcp/options';

export { RESTART_EXIT_CODE } from './update/wrapper';

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const numericFlags = Object.keys(NUMERIC_OPTIONS).map((name) => [kebab(name), name] as const);
const terminalFlags = Object.keys(TERMINAL_LIMITS).map((name) => [`terminal-${kebab(name)}`, name] as const);
const mcpFlags = Object.keys(MCP_LIMITS).map((name) => [`mcp-${kebab(name)}`, name] as const);

/**
 * `--terminal-port -1` as `--terminal-port=-1`: parseArgs takes any word starting with a dash for an option,
 * and would refuse the value that turns the terminal port off.
 */
function negativeNumbersJoined(argv: string[]): string[] {
  const numeric = new Set([...numericFlags, ...terminalFlags, ...mcpFlags].map(([flag]) => `--${flag}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return out.concat(argv.slice(i));
    const next = argv[i + 1];
    if (numeric.has(argv[i]) && next !== undefined && /^-\d+$/.test(next)) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

const USAGE = `agent-server ${VERSION}: run commands, terminals and ACP agents on this machine for remote orchestrators.

Usage:
  agent-server [options]          start the server
  agent-server key [--rotate]     print the API key (--rotate makes a new one first)

Options:
  --host ADDR                     bind address (default 127.0.0.1; 0.0.0.0 exposes on the network)
  --allowed-host NAME             a Host name to answer to besides loopback names, IP addresses, this
                                  machine's name and the tunnel's (repeatable; .example.com: a domain
                                  and its subdomains; *: any)
  --tunnel                        put a devtunnel in front (needs the devtunnel CLI, logged in)
  --tunnel-id ID                  use (or create) this persistent tunnel; implies --tunnel
                                  (default devpilot-HOST-PORT)
  --register URL                  register with this dashboard (shows a code to confirm there)
  --name NAME                     this machine's name on the dashboard (default the host name)
  --wrapper                       supervise the server: restart it when it dies, update it on
                                  POST /update (exit code ${RESTART_EXIT_CODE})
  --update-command CMD            how --wrapper upgrades (default: npm install -g ${PACKAGE_NAME}@latest
                                  into the prefix this copy is installed in; or ${UPDATE_COMMAND_ENV})
  --state-dir DIR                 key file, job records and logs (default ${defaultStateDir()})
  --files-root DIR                confine the files API to DIR (repeatable; default: no confinement)
  -v, --verbose                   debug logging
  -h, --help                      this help
  --version                       print the version
${numericFlags
  .filter(([flag]) => flag !== 'host')
  .map(([flag, name]) => {
    const b = NUMERIC_OPTIONS[name as keyof typeof NUMERIC_OPTIONS];
    const def = typeof b.default === 'number' ? b.default : 'port + 1';
    return `  --${`${flag} N`.padEnd(29)} ${name} (default ${def}, ${b.min}–${b.max}${b.env ? `; env ${b.env}` : ''})`;
  })
  .join('\n')}
  --terminal-shell PATH           shell of new terminals (default $SHELL, else bash, else sh; PowerShell on Windows)
${terminalFlags
  .map(([flag, name]) => {
    const b = TERMINAL_LIMITS[name as keyof typeof TERMINAL_LIMITS];
    return `  --${`${flag} N`.padEnd(29)} terminal ${name} (default ${b.default}, ${b.min}–${b.max})`;
  })
  .join('\n')}
${mcpFlags
  .map(([flag, name]) => {
    const b = MCP_LIMITS[name as keyof typeof MCP_LIMITS];
    return `  --${`${flag} N`.padEnd(29)} /mcp ${name} (default ${b.default}, ${b.min}–${b.max})`;
  })
  .join('\n')}

The API key comes from AGENT_RUNTIME_API_KEY (or DEVPILOT_AGENT_API_KEY, agent_runtime_API_KEY), else from
the key file in the state dir, else a new one is generated and stored there (mode 0600).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: negativeNumbersJoined(argv),
    allowPositionals: true,
    strict: true,
    options: {
      host: { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      'state-dir': { type: 'string' },
      rotate: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      tunnel: { type: 'boolean' },
      'tunnel-id': { type: 'string' },
      register: { type: 'string' },
      name: { type: 'string' },
      wrapper: { type: 'boolean' },
      'update-command': { type: 'string' },
      ...Object.fromEntries(numericFlags.map(([flag]) => [flag, { type: 'string' as const }])),
      ...Object.fromEntries(terminalFlags.map(([flag]) => [flag, { type: 'string' as const }])),
      ...Object.fromEntries(mcpFlags.map(([flag]) => [flag, { type: 'string' as const }])),
      'terminal-shell': { type: 'string' },
      'files-root': { type: 'string', multiple: true },
    },
  });
  if (values.help) return print(USAGE);
  if (values.version) return print(VERSION);
  const stateDir = (values['state-dir'] as string | undefined) ?? defaultStateDir();
  if (positionals[0] === 'key') return keyCommand(stateDir, Boolean(values.rotate));
  if (positionals.length > 0) throw new UsageError(`unknown command: ${positionals[0]}`);
  if (values.wrapper) return wrap(argv, values['update-command'] as string | undefined, Boolean(values.verbose));

  const partial: Partial<ServerOptions> = {
    stateDir,
    host: values.host as string | undefined,
    allowedHosts: values['allowed-host'] as string[] | undefined,
    filesRoots: values['files-root'] as string[] | undefined,
  };
  integerFlags(values, numericFlags, partial);
  const terminal: Partial<TerminalOptions> = { shell: values['terminal-shell'] as string | undefined };
  integerFlags(values, terminalFlags, terminal);
  const mcp: Partial<McpOptions> = {};
  integerFlags(values, mcpFlags, mcp);
  const tunnelId = values['tunnel-id'] as string | undefined;
  const reach: ReachOptions = {
    tunnel: Boolean(values.tunnel) || Boolean(tunnelId),
    tunnelId,
    register: values.register as string | undefined,
    name: (values.name as string | undefined) ?? process.env.COMPUTERNAME ?? hostname(),
  };
  if (reach.register) dashboardBase(reach.register); // a bad URL is a usage error, before anything starts
  return serve(resolveOptions(partial), reach, Boolean(values.verbose), { terminal: { options: terminal }, mcp });
}

/** Copies the integer flags given among `values` into `into`, under their option names. */
function integerFlags(values: object, flags: readonly (readonly [string, string])[], into: object): void {
  for (const [flag, name] of flags) {
    const v = (values as Record<string, unknown>)[flag] as string | undefined;
    if (v !== undefined) (into as Record<string, number>)[name] = parseInteger(flag, v);
  }
}

async function serve(options: ServerOptions, reachOptions: ReachOptions, verbose: boolean, limits: Pick<ServerDeps, 'terminal' | 'mcp'>): Promise<number> {
  const logger = consoleLogger(verbose);
  let exitCode = 0;
  let stopping = false;
  // Set once reach starts, after the stop handler that waits for it is in place.
  // eslint-disable-next-line prefer-const
  let reach: Promise<Reach> | undefined;
  const server = await startServer(options, {
    logger,
    ...limits,
    update: () => ({ response: updateAnswer(), after: () => stop(RESTART_EXIT_CODE) }),
  });
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    void (async () => {
      // A tunnel still coming up is waited for, so its host process is not left behind.
      await reach?.then(
        (r) => r.stop(),
        () => undefined,
      );
      await server.close();
      process.exit(exitCode);
    })();
  };
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));
  reach = startReach(server, { ...reachOptions, logger });
  const reached = await reach;
  reached.on('challenge', (c: ChallengeEvent) => challengeBanner(c));
  banner(server, reachOptions);
  return new Promise<number>(() => {}); // runs until a signal or an update ends the process
}

/** What `POST /update` answers: the running version and what happens next. */
function updateAnswer(): Record<string, unknown> {
  const wrapped = process.env[WRAPPED_ENV] === '1';
  return {
    status: 'updating',
    version: VERSION,
    message: wrapped
      ? `Server will restart for update: it exits with code ${RESTART_EXIT_CODE}, the wrapper upgrades the package and starts it again`
      : `Server will exit with code ${RESTART_EXIT_CODE} for update; no \`agent-server --wrapper\` supervises it, so it will not come back by itself`,
  };
}

function banner(server: AgentServer, reach: ReachOptions): void {
  const keys = server.keys;
  const where = keys.source === 'option' ? 'given by the host' : keys.source === 'env' ? 'from the environment' : `in ${keys.filePath}`;
  const lines = [
    `agent-runtime ${VERSION}`,
    `  command server  ${server.url}`,
    `  terminal        ${server.url}/terminal (web page), ws on ${server.url}/terminal/ws${server.terminalPort ? ` and port ${server.terminalPort}` : ''}`,
    `  API key         ${redact(keys.current())} ${where}; \`agent-server key\` prints it`,
  ];
  if (server.reach.tunnel_url) lines.push(`  tunnel          ${server.reach.tunnel_url}`, `  terminal        ${server.reach.terminal_url}`);
  if (reach.register) lines.push(`  dashboard       ${reach.register} (as ${reach.name})`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

function challengeBanner(c: ChallengeEvent): void {
  const rule = '='.repeat(56);
  process.stderr.write(
    [
      '',
      rule,
      `  REGISTRATION CODE:  ${c.code}`,
      '',
      '  Enter this code on the dashboard to confirm this machine:',
      `  ${c.confirm_url}`,
      `  (valid until ${new Date(c.expires_at).toLocaleTimeString()})`,
      rule,
      '',
      '',
    ].join('\n'),
  );
}

/** `--wrapper`: run this same CLI, minus the wrapper's own flags, under supervision. */
async function wrap(argv: string[], updateOption: string | undefined, verbose: boolean): Promise<number> {
  const logger: Logger = consoleLogger(verbose);
  const script = process.argv[1];
  const updateCommand = resolveUpdateCommand(updateOption, process.env, script, PACKAGE_NAME);
  const wrapper = new Wrapper({
    command: process.execPath,
    args: [...process.execArgv, script, ...serverArgs(argv)],
    updateCommand,
    logger,
  });
  logger.info(
    `agent-runtime ${VERSION} wrapper: auto-update ${updateCommand ? `with \`${updateCommand}\`` : `off (set --update-command or ${UPDATE_COMMAND_ENV})`}`,
  );
  return wrapper.run();
}

/** The arguments for the supervised server: all but --wrapper and --update-command. */
export function serverArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--wrapper' || a.startsWith('--update-command=')) continue;
    if (a === '--update-command') {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

function keyCommand(stateDir: string, rotate: boolean): number {
  for (const note of securePrivateState(stateDir)) process.stderr.write(`${note}\n`);
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
