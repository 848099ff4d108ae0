// Making a running server reachable: the devtunnel in front of it and the dashboard registration, wired
// together (a new tunnel URL or token is pushed to the dashboard) and reported through the server's
// `reach` (the authenticated `/health`) and the environment variables of docs/reach.md. Used by the CLI
// and by the extension (its "Show Tunnel URL" reads `info()`).
import { EventEmitter } from 'node:events';
import type { KeyStore } from './auth';
import { silentLogger, type Logger } from './log';
import { Registration, type RegistrationLimitName, type RegistrationState } from './register';
import type { ReachInfo } from './server';
import type { TunnelSlot } from './reach/ports-routes';
import { terminalUrlFor } from './tunnel/parse';
import { startTunnel, TunnelError, type Tunnel, type TunnelOptions } from './tunnel/tunnel';

export const TUNNEL_URL_ENV = 'DEVPILOT_TUNNEL_URL';
export const TUNNEL_TOKEN_ENV = 'DEVPILOT_TUNNEL_TOKEN';
export const TERMINAL_URL_ENV = 'DEVPILOT_TERMINAL_URL';

/** The parts of a started server that reach needs. */
export interface ReachableServer {
  readonly port: number;
  readonly options: { terminalPort: number };
  readonly keys: KeyStore;
  readonly reach: ReachInfo;
  /** Where `POST /ports/{port}/expose` finds the running tunnel. */
  readonly tunnelSlot: TunnelSlot;
}

export interface ReachOptions {
  /** Start a devtunnel (`--tunnel`). */
  tunnel?: boolean;
  /** Use this persistent tunnel (`--tunnel-id`). */
  tunnelId?: string;
  /** Register with this dashboard (`--register URL`). */
  register?: string;
  /** The machine's name on the dashboard (`--name`); default the host name. */
  name: string;
  /** Read for a tunnel given from outside, written with the tunnel's URLs and token; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The devtunnel program and the tunnel's limits. */
  tunnelOptions?: Pick<TunnelOptions, 'program' | 'limits' | 'hostName' | 'env'>;
  registrationLimits?: Partial<Record<RegistrationLimitName, number>>;
  logger?: Logger;
}

/**
 * Events: `challenge` (a code to show, see Registration), `registration` (RegistrationState), `tunnel`
 * (the new ReachInfo when a URL changes), `warning` (a message: the tunnel could not start, …).
 */
export class Reach extends EventEmitter {
  tunnel: Tunnel | undefined;
  registration: Registration | undefined;
  private readonly onRotated = () => void this.registration?.pushUpdate();

  constructor(
    private readonly server: ReachableServer,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
  ) {
    super();
  }

  info(): ReachInfo {
    return { ...this.server.reach };
  }

  async stop(): Promise<void> {
    this.server.keys.off('rotated', this.onRotated);
    this.registration?.stop();
    if (this.server.tunnelSlot.tunnel === this.tunnel) this.server.tunnelSlot.tunnel = undefined;
    await this.tunnel?.stop();
  }

  /** Brings the tunnel up; a failure is reported once and the server goes on locally. */
  async openTunnel(opts: ReachOptions): Promise<void> {
    try {
      this.tunnel = await startTunnel({
        ...opts.tunnelOptions,
        port: this.server.port,
        terminalPort: this.terminalPort(),
        tunnelId: opts.tunnelId,
        logger: this.logger,
      });
    } catch (err) {
      if (!(err instanceof TunnelError)) throw err;
      const message = `tunnel: ${err.message}. Serving locally only.`;
      this.logger.error(message);
      this.emit('warning', message);
      return;
    }
    const t = this.tunnel;
    this.server.tunnelSlot.tunnel = t;
    this.setUrls(t.url, t.terminalUrl);
    if (t.token) this.env[TUNNEL_TOKEN_ENV] = t.token;
    t.on('url', () => {
      this.setUrls(t.url, t.terminalUrl);
      void this.registration?.pushUpdate();
    });
    t.on('token', (token: string) => {
      this.env[TUNNEL_TOKEN_ENV] = token;
      void this.registration?.pushUpdate();
    });
    t.on('warning', (m: string) => this.emit('warning', `tunnel: ${m}`));
  }

  /** A tunnel run by someone else, given in the environment (docs/reach.md: read if given). */
  adoptTunnelFromEnv(): void {
    const url = this.env[TUNNEL_URL_ENV]?.trim();
    if (!url) return;
    this.setUrls(url, this.env[TERMINAL_URL_ENV]?.trim() || terminalUrlFor(url, this.server.port, this.terminalPort()));
  }

  /** Starts registering in the background; the state shows in `/health` as it goes. */
  register(opts: ReachOptions & { register: string }): Registration {
    const reg = new Registration({
      dashboardUrl: opts.register,
      name: opts.name,
      logger: this.logger,
      limits: opts.registrationLimits,
      info: () => {
        const local = `http://localhost:${this.server.port}`;
        const terminalPort = this.terminalPort();
        return {
          // The seed's fallbacks when there is no tunnel: the dashboard may be on the same network.
          tunnel_url: this.server.reach.tunnel_url ?? local,
          terminal_url: this.server.reach.terminal_url ?? (terminalPort ? `http://localhost:${terminalPort}` : `${local}/terminal`),
          tunnel_token: this.tunnel?.token ?? this.env[TUNNEL_TOKEN_ENV] ?? '',
          api_key: this.server.keys.current(),
        };
      },
    });
    this.registration = reg;
    this.server.reach.registration = reg.state;
    reg.on('state', (s: RegistrationState) => {
      this.server.reach.registration = s;
      this.emit('registration', s);
    });
    reg.on('challenge', (c) => this.emit('challenge', c));
    this.server.keys.on('rotated', this.onRotated);
    void reg.start();
    return reg;
  }

  private terminalPort(): number | undefined {
    const p = this.server.options.terminalPort;
    return p > 0 ? p : undefined;
  }

  private setUrls(url: string, terminalUrl: string): void {
    this.server.reach.tunnel_url = url;
    this.server.reach.terminal_url = terminalUrl;
    this.env[TUNNEL_URL_ENV] = url;
    this.env[TERMINAL_URL_ENV] = terminalUrl;
    this.emit('tunnel', this.info());
  }
}

/**
 * Everything asked for: the tunnel first (registration needs its URL), then registration in the
 * background. Never throws for an unreachable tunnel or dashboard: those are reported and the server
 * keeps serving locally.
 */
export async function startReach(server: ReachableServer, opts: ReachOptions): Promise<Reach> {
  const reach = new Reach(server, opts.env ?? process.env, opts.logger ?? silentLogger);
  if (opts.tunnel || opts.tunnelId) await reach.openTunnel(opts);
  else reach.adoptTunnelFromEnv();
  if (opts.register) reach.register({ ...opts, register: opts.register });
  return reach;
}
