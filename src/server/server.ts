// The core, assembled: one function that both hosts (the CLI and the VS Code extension) call.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Router } from 'express';
import { KeyStore } from './auth';
import { resolveOptions, type ServerOptions } from './config';
import { createApp, listRoutes } from './http/app';
import { jobRoutes } from './http/routes/jobs';
import { openapiRoutes } from './http/routes/openapi';
import { updateRoutes, type UpdateHost } from './http/routes/update';
import { JobManager } from './jobs/manager';
import { ShellRunner } from './jobs/shell-runner';
import { JobStore } from './jobs/store';
import type { ModeRunner } from './jobs/types';
import { silentLogger, type Logger } from './log';
import { VERSION } from './version';

export interface ServerDeps {
  logger?: Logger;
  /** The host's key store (the extension keeps the key in SecretStorage); else loaded from the state dir. */
  keys?: KeyStore;
  /** Execution modes beyond `shell`. */
  runners?: ModeRunner[];
  /** What `POST /update` does once idle; default: answers that updating is not supported by this host. */
  update?: UpdateHost['update'];
}

/** Reachability the tunnel and registration report (null until they run). */
export interface ReachInfo {
  tunnel_url: string | null;
  terminal_url: string | null;
  registration: unknown;
}

export interface AgentServer {
  readonly options: ServerOptions;
  readonly keys: KeyStore;
  readonly manager: JobManager;
  /** The port the command server listens on (useful with port 0). */
  readonly port: number;
  readonly url: string;
  readonly reach: ReachInfo;
  health(authenticated: boolean): Record<string, unknown>;
  /** Every HTTP route served, as `METHOD /path/{param}`. */
  routes(): string[];
  close(): Promise<void>;
}

export async function startServer(partial: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<AgentServer> {
  const options = resolveOptions(partial);
  const logger = deps.logger ?? silentLogger;
  const keys = deps.keys ?? KeyStore.load(options.stateDir);
  const store = new JobStore(options.stateDir, options, logger);
  store.load();
  const manager = new JobManager(store, options, logger);
  manager.register(new ShellRunner(options.killGraceMs));
  for (const runner of deps.runners ?? []) manager.register(runner);

  const reach: ReachInfo = { tunnel_url: null, terminal_url: null, registration: null };
  const startedAt = Date.now();
  const health = (authenticated: boolean) =>
    authenticated ? fullHealth({ manager, reach, startedAt }) : { status: 'ok', authenticated: false };

  const updateHost: UpdateHost = {
    busy: () => busyReason(manager),
    update: deps.update ?? (() => ({ response: { status: 'unsupported', version: VERSION, message: 'this host does not update itself' } })),
  };
  const modeRouters = manager.runnerList().flatMap((r) => (r.router ? [r.router()] : [])) as Router[];
  const app = createApp({
    keys,
    maxBodyBytes: options.maxBodyBytes,
    logger,
    health,
    publicRouters: [],
    routers: [jobRoutes(manager, options), updateRoutes(updateHost), openapiRoutes(), ...modeRouters],
  });

  const http = createServer(app);
  const port = await listen(http, options.port, options.host);
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger.info(`agent-runtime ${VERSION} listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      http.close();
      await manager.shutdown();
      http.closeAllConnections();
      logger.info('agent-runtime stopped');
    })());

  return { options, keys, manager, port, url, reach, health, routes: () => listRoutes(app), close };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function fullHealth(s: { manager: JobManager; reach: ReachInfo; startedAt: number }): Record<string, unknown> {
  const modes = s.manager.modes();
  const modeHealth = Object.assign({}, ...s.manager.runnerList().map((r) => r.health?.() ?? {}));
  return {
    status: 'ok',
    version: VERSION,
    hostname: hostname(),
    jobs: s.manager.store.size(),
    cwd: process.cwd(),
    authenticated: true,
    terminal_supported: false,
    terminal_sessions: 0,
    acp_supported: modes.includes('acp'),
    execution_modes: modes,
    persistent_shell_supported: false,
    persistent_shell_shells: {},
    persistent_shell_default_shell: null,
    persistent_shell_sessions: 0,
    persistent_shell_max_sessions: 0,
    persistent_shell_idle_timeout_seconds: 0,
    ...modeHealth,
    active_jobs: s.manager.activeCount(),
    tunnel_url: s.reach.tunnel_url,
    terminal_url: s.reach.terminal_url,
    registration: s.reach.registration,
    pid: process.pid,
    uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
  };
}

/** The seed's refusals of `POST /update`, in its order: jobs, then terminals, then persistent shells. */
function busyReason(manager: JobManager): Record<string, unknown> | undefined {
  const jobs = manager.activeCount();
  if (jobs > 0) return { error: 'cannot update while jobs are running', running_jobs: jobs };
  const shells = manager.runnerList().reduce((n, r) => n + (r.activeCount?.() ?? 0), 0);
  if (shells > 0) return { error: 'cannot update while persistent shell sessions are active', persistent_sessions: shells };
  return undefined;
}

