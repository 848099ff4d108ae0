// A persistent devtunnel in front of the server (docs/reach.md): check the login, create or reuse the
// tunnel, forward the ports, allow anonymous connect (the API key is the real gate), mint a connect
// token and keep it fresh, run `devtunnel host` and keep it running.
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { Backoff } from '../backoff';
import { resolveBounded, type Bounds } from '../../common/bounds';
import { silentLogger, type Logger } from '../log';
import { killTree, sleep } from '../../common/platform';
import { DevtunnelCli, TunnelError, tail } from './devtunnel';
import { defaultTunnelId, jwtExpiryMs, portUrlFor, terminalUrlFor, tokenFromOutput, tunnelUrlsIn } from './parse';

export { TunnelError } from './devtunnel';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** After its tree is ended, how long the host may take to be reaped (a loaded machine delays it). */
const REAP_WAIT_MS = 5 * SECOND;

export type TunnelLimitName =
  | 'urlTimeoutMs'
  | 'commandTimeoutMs'
  | 'tokenRefreshMarginMs'
  | 'tokenRefreshFallbackMs'
  | 'tokenRetryInitialMs'
  | 'tokenRetryMaxMs'
  | 'restartInitialMs'
  | 'restartMaxMs'
  | 'stableAfterMs';

/** Every limit of the tunnel, with its default and bound (documented in docs/reach.md). */
export const TUNNEL_LIMITS: Bounds<TunnelLimitName> = {
  /** How long `devtunnel host` may take to print the public URL. */
  urlTimeoutMs: { default: 30 * SECOND, min: SECOND, max: 10 * MINUTE },
  /** How long one `devtunnel` command (user show, create, port create, token…) may take. */
  commandTimeoutMs: { default: 30 * SECOND, min: SECOND, max: 5 * MINUTE },
  /** A new connect token is minted this long before the current one expires (tokens last 24 h). */
  tokenRefreshMarginMs: { default: 2 * HOUR, min: SECOND, max: 23 * HOUR },
  /** Refresh period when the token's expiry cannot be read (the predecessor's 20 h, docs/COMPATIBILITY.md). */
  tokenRefreshFallbackMs: { default: 20 * HOUR, min: SECOND, max: 23 * HOUR },
  /** First wait after a failed token refresh; doubles up to tokenRetryMaxMs. */
  tokenRetryInitialMs: { default: 10 * SECOND, min: 100, max: HOUR },
  tokenRetryMaxMs: { default: 30 * MINUTE, min: 100, max: 6 * HOUR },
  /** First wait before restarting a host that died; doubles up to restartMaxMs. */
  restartInitialMs: { default: SECOND, min: 100, max: MINUTE },
  restartMaxMs: { default: MINUTE, min: 100, max: HOUR },
  /** A host that ran this long before dying restarts after restartInitialMs again. */
  stableAfterMs: { default: MINUTE, min: 100, max: HOUR },
};

export interface TunnelOptions {
  /** The command server's port (the one already listening). */
  port: number;
  /** The terminal server's own port, forwarded too when > 0. */
  terminalPort?: number;
  /** A persistent tunnel to use (created when missing); default `devpilot-HOST-PORT`. */
  tunnelId?: string;
  /** The devtunnel program; default `devtunnel` from PATH. */
  program?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** The host name the default tunnel ID is made from; default os.hostname(). */
  hostName?: string;
  limits?: Partial<Record<TunnelLimitName, number>>;
}

export type TunnelState = 'starting' | 'online' | 'restarting' | 'stopped';

export interface TunnelInfo {
  id: string;
  state: TunnelState;
  url: string;
  terminalUrl: string;
  /** Epoch ms when the current connect token expires, when known. */
  tokenExpiresAt?: number;
}

/**
 * A running tunnel. Events: `url` (TunnelInfo, when the public URLs change), `token` (the new connect
 * token), `state` (TunnelState), `warning` (a message for the log: the host died, a refresh failed).
 */
export class Tunnel extends EventEmitter {
  url = '';
  terminalUrl = '';
  token: string | undefined;
  tokenExpiresAt: number | undefined;
  state: TunnelState = 'starting';
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private tokenTimer: NodeJS.Timeout | undefined;
  private readonly restarts: Backoff;
  private readonly tokenRetry: Backoff;

  constructor(
    readonly id: string,
    private readonly cli: DevtunnelCli,
    private readonly port: number,
    private readonly terminalPort: number | undefined,
    private readonly limits: Record<TunnelLimitName, number>,
    private readonly logger: Logger,
  ) {
    super();
    this.restarts = new Backoff(limits.restartInitialMs, limits.restartMaxMs);
    this.tokenRetry = new Backoff(limits.tokenRetryInitialMs, limits.tokenRetryMaxMs);
  }

  info(): TunnelInfo {
    return { id: this.id, state: this.state, url: this.url, terminalUrl: this.terminalUrl, tokenExpiresAt: this.tokenExpiresAt };
  }

  /** Mints the first token (a failure is a warning: the predecessor went on without one) and hosts the tunnel. */
  async begin(): Promise<void> {
    try {
      await this.mintToken();
      this.scheduleToken(this.nextRefreshDelay());
    } catch (err) {
      this.tokenFailed(err as Error);
    }
    try {
      await this.runHost();
    } catch (err) {
      this.clearTimers();
      throw err;
    }
    this.setState('online');
  }

  /** Ends the host process (and anything it started) and every timer. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimers();
    this.setState('stopped');
    if (this.child) await stopChild(this.child);
  }

  /** Mints a new connect token now (also done on a timer before the current one expires). */
  async refreshToken(): Promise<string> {
    await this.mintToken();
    this.tokenRetry.reset();
    this.scheduleToken(this.nextRefreshDelay());
    return this.token!;
  }

  /**
   * Forwards one more local port through this tunnel (`POST /ports/{port}/expose`) and answers its public
   * URL. The running host serves ports added to its tunnel without a restart.
   */
  async addPort(port: number): Promise<string> {
    const r = await this.cli.run(['port', 'create', this.id, '-p', String(port)]);
    if (r.code !== 0 && !/already exists|conflict/i.test(`${r.stdout}${r.stderr}`)) {
      throw new TunnelError(`\`devtunnel port create ${this.id} -p ${port}\` failed: ${tail(r.stderr || r.stdout) || `exit ${r.code}`}`);
    }
    this.logger.info(`tunnel ${this.id}: port ${port} exposed`);
    return this.portUrl(port);
  }

  /** Stops forwarding a port added with addPort. */
  async removePort(port: number): Promise<void> {
    const r = await this.cli.run(['port', 'delete', this.id, '-p', String(port)]);
    if (r.code !== 0 && !/not found/i.test(`${r.stdout}${r.stderr}`)) {
      throw new TunnelError(`\`devtunnel port delete ${this.id} -p ${port}\` failed: ${tail(r.stderr || r.stdout) || `exit ${r.code}`}`);
    }
    this.logger.info(`tunnel ${this.id}: port ${port} no longer exposed`);
  }

  /** The public URL of a forwarded port. */
  portUrl(port: number): string {
    return portUrlFor(this.url, this.port, port) ?? `${this.url.replace(/\/+$/, '')}:${port}`;
  }

  /** The pid of the running `devtunnel host`, if any. */
  get hostPid(): number | undefined {
    return this.child?.pid;
  }

  private async mintToken(): Promise<void> {
    const r = await this.cli.run(['token', this.id, '--scopes', 'connect']);
    const token = r.code === 0 ? tokenFromOutput(r.stdout) : undefined;
    if (!token) {
      throw new TunnelError(`\`devtunnel token ${this.id} --scopes connect\` gave no token (exit ${r.code}): ${tail(r.stderr || r.stdout) || 'no output'}`);
    }
    this.token = token;
    this.tokenExpiresAt = jwtExpiryMs(token);
    const until = this.tokenExpiresAt ? ` (valid until ${new Date(this.tokenExpiresAt).toISOString()})` : '';
    this.logger.info(`tunnel connect token minted${until}`);
    this.emit('token', token);
  }

  private nextRefreshDelay(): number {
    if (!this.tokenExpiresAt) return this.limits.tokenRefreshFallbackMs;
    return Math.max(SECOND, this.tokenExpiresAt - Date.now() - this.limits.tokenRefreshMarginMs);
  }

  private scheduleToken(delayMs: number): void {
    clearTimeout(this.tokenTimer);
    if (this.stopping) return;
    this.tokenTimer = setTimeout(() => {
      this.refreshToken().catch((err: Error) => this.tokenFailed(err));
    }, delayMs);
    this.tokenTimer.unref();
  }

  private tokenFailed(err: Error): void {
    if (this.stopping) return;
    const delay = this.tokenRetry.next();
    this.warn(`could not mint a tunnel connect token: ${err.message}; trying again in ${Math.round(delay / SECOND)} s`);
    this.scheduleToken(delay);
  }

  /**
   * Starts `devtunnel host` and resolves once it prints the command port's public URL; rejects when it
   * exits first or stays silent past urlTimeoutMs (and is then stopped).
   */
  private runHost(): Promise<void> {
    const child = this.cli.host(this.id);
    this.child = child;
    const startedAt = Date.now();
    let output = '';
    let commandUrl = '';
    let terminalSeen = '';
    let settled = false;
    let online = false;

    return new Promise<void>((resolve, reject) => {
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(new TunnelError(message));
      };
      const deadline = setTimeout(() => {
        fail(
          `\`devtunnel host ${this.id}\` printed no tunnel URL within ${this.limits.urlTimeoutMs / SECOND} s` +
            `${output ? ` (it said: ${tail(output)})` : ''}; run \`devtunnel host ${this.id}\` yourself to see why`,
        );
        void stopChild(child);
      }, this.limits.urlTimeoutMs);

      const onLine = (line: string) => {
        this.logger.debug(`devtunnel host: ${line}`);
        output = `${output}${line}\n`.slice(-4096);
        for (const found of tunnelUrlsIn(line)) {
          if (found.port === this.port || (found.port === undefined && !commandUrl)) commandUrl = found.url;
          else if (found.port !== undefined && found.port === this.terminalPort) terminalSeen = found.url;
        }
        if (!commandUrl) return;
        this.publishUrls(commandUrl, terminalSeen || terminalUrlFor(commandUrl, this.port, this.terminalPort));
        if (!settled) {
          settled = online = true;
          clearTimeout(deadline);
          resolve();
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);

      child.once('error', (err) => fail(`could not start \`devtunnel host ${this.id}\`: ${err.message}`));
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (!settled) {
          fail(`\`devtunnel host ${this.id}\` exited (${how}) before printing a URL${output ? `: ${tail(output)}` : ''}`);
        } else if (online) {
          this.hostDied(how, Date.now() - startedAt);
        }
      });
    });
  }

  private publishUrls(url: string, terminalUrl: string): void {
    if (url === this.url && terminalUrl === this.terminalUrl) return;
    this.url = url;
    this.terminalUrl = terminalUrl;
    this.logger.info(`tunnel ${this.id}: ${url} (terminal ${terminalUrl})`);
    this.emit('url', this.info());
  }

  private hostDied(how: string, ranForMs: number): void {
    if (this.stopping) return;
    if (ranForMs >= this.limits.stableAfterMs) this.restarts.reset();
    this.setState('restarting');
    this.scheduleRestart(`\`devtunnel host ${this.id}\` exited (${how})`);
  }

  private scheduleRestart(why: string): void {
    if (this.stopping) return;
    const delay = this.restarts.next();
    this.warn(`${why}; restarting it in ${(delay / SECOND).toFixed(1)} s`);
    this.restartTimer = setTimeout(() => {
      this.runHost().then(
        () => (this.stopping ? undefined : this.setState('online')),
        (err: Error) => this.scheduleRestart(err.message),
      );
    }, delay);
    this.restartTimer.unref();
  }

  private setState(state: TunnelState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private warn(message: string): void {
    this.logger.warn(`tunnel: ${message}`);
    this.emit('warning', message);
  }

  private clearTimers(): void {
    clearTimeout(this.restartTimer);
    clearTimeout(this.tokenTimer);
  }
}

/**
 * Brings a tunnel up as docs/reach.md says. Rejects with a TunnelError whose message says what to run
 * (install the CLI, log in…); the caller logs it and keeps serving locally.
 */
export async function startTunnel(options: TunnelOptions): Promise<Tunnel> {
  const limits = resolveBounded(TUNNEL_LIMITS, options.limits ?? {}, 'tunnel option');
  const logger = options.logger ?? silentLogger;
  const cli = new DevtunnelCli(options.program ?? 'devtunnel', limits.commandTimeoutMs, options.env ?? process.env);
  const id = options.tunnelId || defaultTunnelId(options.hostName ?? hostname(), options.port);
  const ports = [options.port, ...(options.terminalPort && options.terminalPort > 0 ? [options.terminalPort] : [])];

  await checkLogin(cli);
  await ensureTunnel(cli, id, ports, logger);
  const tunnel = new Tunnel(id, cli, options.port, options.terminalPort, limits, logger);
  await tunnel.begin();
  return tunnel;
}

async function checkLogin(cli: DevtunnelCli): Promise<void> {
  const r = await cli.run(['user', 'show']);
  const said = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0 || /not logged in|(login|token|session)[^\n]*expired/i.test(said)) {
    throw new TunnelError(
      `devtunnel is not logged in${said.trim() ? ` (it said: ${tail(said, 2)})` : ''}: run \`devtunnel user login\` ` +
        '(or `devtunnel user login -g` for a GitHub account), then start again with --tunnel',
    );
  }
}

/** Reuses the tunnel if it exists, else creates it; forwards the ports; allows anonymous connect. */
async function ensureTunnel(cli: DevtunnelCli, id: string, ports: number[], logger: Logger): Promise<void> {
  const shown = await cli.run(['show', id]);
  if (shown.code !== 0) {
    const created = await cli.run(['create', id, '--expiration', '30d']);
    if (created.code !== 0) {
      throw new TunnelError(
        `could not create the devtunnel ${id}: ${tail(created.stderr || created.stdout) || `exit ${created.code}`}; ` +
          'check `devtunnel list` and `devtunnel user show`, or pass an existing tunnel with --tunnel-id',
      );
    }
    logger.info(`created devtunnel ${id} (expires after 30 days unused)`);
  } else {
    logger.info(`reusing devtunnel ${id}`);
  }
  for (const port of ports) {
    const r = await cli.run(['port', 'create', id, '-p', String(port)]);
    // An existing port is the normal case for a reused tunnel.
    if (r.code !== 0 && !/already exists|conflict/i.test(`${r.stdout}${r.stderr}`)) {
      logger.warn(`tunnel: \`devtunnel port create ${id} -p ${port}\` failed: ${tail(r.stderr || r.stdout)}`);
    }
  }
  const access = await cli.run(['access', 'create', id, '--anonymous']);
  if (access.code !== 0) logger.warn(`tunnel: \`devtunnel access create ${id} --anonymous\` failed: ${tail(access.stderr || access.stdout)}`);
}

/** Ends the host's tree, and resolves once the host itself is reaped (not merely a zombie). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const reaped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await killTree(child.pid);
  await Promise.race([reaped, sleep(REAP_WAIT_MS)]);
}
