// The core, assembled: one function that both hosts (the CLI and the VS Code extension) call.
import { createServer, type IncomingMessage } from 'node:http';
import { listen } from './http/listen';
import { hostname } from 'node:os';
import { KeyStore } from './auth';
import { resolveOptions, type ServerOptions } from './config';
import { lockStateDir } from './state-lock';
import { securePrivateState } from './private-state';
import { createApp, healthRoute, listRoutes } from './http/app';
import { openapiDocument, type OpenApiDocument, type RouteSpec } from './http/route-spec';
import { HostPolicy } from './http/hosts';
import { CONNECT_REFUSAL, refuseOnSocket, requestUrl } from './http/respond';
import { JOB_SCHEMAS, jobRoutes } from './http/routes/jobs';
import { openapiRoutes } from './http/routes/openapi';
import { updateRoutes, type UpdateHost } from './http/routes/update';
import { AcpRunner, persistentShellTerminals, type AcpRunnerOptions } from './modes/acp/runner';
import { JobManager } from './jobs/manager';
import { ShellRunner } from './modes/shell/runner';
import { PersistentShellRunner } from './modes/persistent-shell/runner';
import { JobStore } from './jobs/store';
import type { ModeRunner } from './jobs/types';
import { silentLogger, type Logger } from './log';
import { VERSION } from './version';
import { TerminalService } from './terminal/service';
import { listenTerminalPort, type TerminalListener } from './terminal/listener';
import type { TerminalOptions } from './terminal/options';
import type { PtyModuleSource } from './terminal/pty';
import { FileRoots } from './files/roots';
import { filesRoutes, isUpload } from './files/routes';
import { searchBackend } from './files/search';
import { nativeWatcher, Watches } from './files/watch';
import { Metrics } from './metrics';
import { portsRoutes, type TunnelSlot } from './reach/ports-routes';
import { systemRoutes } from './system';
import { isMcpRequest, mcpRoutes } from './mcp/route';
import { resolveMcpOptions, type McpOptions } from './mcp/options';

export interface ServerDeps {
  logger?: Logger;
  /** The host's key store (the extension keeps the key in SecretStorage); else loaded from the state dir. */
  keys?: KeyStore;
  /** Execution modes beyond `shell`. */
  runners?: ModeRunner[];
  /** What `POST /update` does once idle; default: answers that updating is not supported by this host. */
  update?: UpdateHost['update'];
  /** The terminal's limits, the node-pty the host prefers (VS Code's own), and extra browser origins. */
  terminal?: { options?: Partial<TerminalOptions>; ptyModule?: PtyModuleSource; allowedOrigins?: readonly string[] };
  /** Defaults of ACP jobs (the editor's settings). */
  acp?: Pick<AcpRunnerOptions, 'defaultAgent' | 'defaultPolicy'>;
  /** Limits of the MCP endpoint `/mcp` (docs/mcp.md). */
  mcp?: Partial<McpOptions>;
  /**
   * How long to wait for another server to let go of the state dir before failing with StateDirInUse;
   * default `killGraceMs` + 3 s, time for a server shutting down (as when VS Code reloads a window) to end
   * its jobs first.
   */
  stateLockWaitMs?: number;
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
  /** The ACP mode: its pending permission requests (`acp.permissions`) for hosts that ask a person. */
  readonly acp: AcpRunner;
  /** The port the command server listens on (useful with port 0). */
  readonly port: number;
  /** The separate terminal port, or null when `terminalPort` is -1. */
  readonly terminalPort: number | null;
  readonly terminal: TerminalService;
  readonly url: string;
  readonly reach: ReachInfo;
  /** The running devtunnel, set by the host once it is up, for `POST /ports/{port}/expose`. */
  readonly tunnelSlot: TunnelSlot;
  health(authenticated: boolean): Record<string, unknown>;
  /** Every HTTP route served, as `METHOD /path/{param}`. */
  routes(): string[];
  close(): Promise<void>;
}

/** Beyond the kill grace, how long a server shutting down may take to let go of its state dir. */
const STATE_LOCK_SLACK_MS = 3000;

export async function startServer(partial: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<AgentServer> {
  const options = resolveOptions(partial);
  const mcpOptions = resolveMcpOptions(deps.mcp); // a bad limit fails here, before anything starts
  for (const note of securePrivateState(options.stateDir)) (deps.logger ?? silentLogger).warn(note);
  const unlock = await lockStateDir(options.stateDir, deps.stateLockWaitMs ?? options.killGraceMs + STATE_LOCK_SLACK_MS);
  try {
    return await startLocked(options, mcpOptions, deps, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

/** The server, on a state dir now its own; `unlock` lets the state dir go when it closes. */
async function startLocked(options: ServerOptions, mcpOptions: McpOptions, deps: ServerDeps, unlock: () => void): Promise<AgentServer> {
  const logger = deps.logger ?? silentLogger;
  const keys = deps.keys ?? KeyStore.load(options.stateDir);
  const roots = await FileRoots.open(options.filesRoots);
  const store = new JobStore(options.stateDir, options, logger);
  store.load();
  const manager = new JobManager(store, options, logger);
  manager.register(new ShellRunner(options.killGraceMs));
  const shells = new PersistentShellRunner(
    { maxSessions: options.persistentShellMaxSessions, idleTimeoutSeconds: options.persistentShellIdleTimeoutSeconds, killGraceMs: options.killGraceMs },
    logger,
  );
  manager.register(shells);
  const acp = new AcpRunner({
    permissionDeadlineMs: options.acpPermissionDeadlineSeconds * 1000,
    ...deps.acp,
    killGraceMs: options.killGraceMs,
    persistentTerminals: persistentShellTerminals(shells),
  });
  manager.register(acp);
  for (const runner of deps.runners ?? []) manager.register(runner);

  const reach: ReachInfo = { tunnel_url: null, terminal_url: null, registration: null };
  const hosts = new HostPolicy({ bindHost: options.host, allowedHosts: options.allowedHosts, tunnelUrls: () => [reach.tunnel_url, reach.terminal_url] });
  const startedAt = Date.now();
  const terminal = new TerminalService({
    options: deps.terminal?.options,
    checkKey: (key) => keys.check(key),
    logger,
    // The tunnel's URLs are the server's own origins as a browser sees them through the tunnel.
    allowedOrigins: () => [reach.tunnel_url, reach.terminal_url, ...(deps.terminal?.allowedOrigins ?? [])].filter((o): o is string => Boolean(o)),
    ptyModule: deps.terminal?.ptyModule,
    hosts,
  });
  const watches = new Watches(options.filesMaxWatches);
  const metrics = new Metrics({ manager, terminalSessions: () => terminal.sessionCount(), fileWatches: () => watches.count() });
  const tunnelSlot: TunnelSlot = { tunnel: undefined };
  const files = { roots: roots.reals, search: searchBackend(), watch: nativeWatcher() !== null };
  const health = (authenticated: boolean) =>
    authenticated ? fullHealth({ manager, reach, startedAt, terminal, files }) : { status: 'ok', authenticated: false };

  const updateHost: UpdateHost = {
    busy: () => busyReason(manager, terminal),
    refuse: (reason) => {
      manager.refusing = reason;
      terminal.refuse(reason);
    },
    update: deps.update ?? (() => ({ response: { status: 'unsupported', version: VERSION, message: 'this host does not update itself' } })),
  };
  // The document describes exactly this server's routes, this route included, so it is built once they are all listed.
  let document: OpenApiDocument | undefined;
  const publicRoutes = [healthRoute(keys, health), ...terminal.routes()];
  const routes: RouteSpec[] = [
    ...jobRoutes(manager, options),
    ...updateRoutes(updateHost),
    ...openapiRoutes(() => (document ??= openapiDocument([...publicRoutes, ...routes], JOB_SCHEMAS))),
    ...manager.runnerList().flatMap((r) => r.routes?.() ?? []),
    ...filesRoutes(roots, watches, options),
    ...portsRoutes(tunnelSlot),
    ...systemRoutes(roots.confined ? roots.reals : [process.cwd()]),
    ...metrics.routes(),
    ...mcpRoutes({ manager, roots, terminal, logger, options: mcpOptions, limits: options }),
  ];
  const streamsBody = (req: IncomingMessage) => isUpload(req) || isMcpRequest(req);
  const app = createApp({ keys, hosts, maxBodyBytes: options.maxBodyBytes, logger, publicRoutes, routes, streamsBody });
  const http = createServer(app);
  http.on('upgrade', (req, socket, head) => {
    if (requestUrl(req)?.pathname === '/terminal/ws') terminal.handleUpgrade(req, socket, head);
    else refuseOnSocket(socket, 404, 'not found');
  });
  http.on('connect', (_req, socket) => refuseOnSocket(socket, 405, CONNECT_REFUSAL));
  let port: number;
  try {
    port = await listen(http, options.port, options.host);
  } catch (err) {
    await manager.shutdown(); // the runners' processes (the spawn helper) go with the server that failed
    throw err;
  }
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger.info(`agent-runtime ${VERSION} listening on ${url}`);
  let terminalListener: TerminalListener | undefined;
  if (options.terminalPort !== -1) {
    try {
      terminalListener = await listenTerminalPort(terminal, {
        port: options.terminalPort,
        host: options.host,
        hosts,
        logger,
        maxBodyBytes: options.maxBodyBytes,
      });
      logger.info(`terminal WebSocket also on port ${terminalListener.port}`);
    } catch (err) {
      // The command port serves /terminal/ws too, so a taken terminal port costs nothing essential.
      logger.warn(`terminal port ${options.terminalPort} unavailable (${(err as Error).message}); terminals stay on ${url}/terminal/ws`);
    }
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      http.close();
      try {
        metrics.dispose();
        await Promise.all([manager.shutdown(), terminal.dispose(), terminalListener?.close()]);
      } finally {
        unlock(); // every job is final and saved by now (or the shutdown failed: the state dir goes free all the same)
      }
      http.closeAllConnections();
      logger.info('agent-runtime stopped');
    })());

  const terminalPort = terminalListener?.port ?? null;
  return { options, keys, manager, acp, port, terminalPort, terminal, url, reach, tunnelSlot, health, routes: () => listRoutes(app), close };
}

/** Routes beyond the seed's, named in `/health` so a client knows what this server offers. */
const CAPABILITIES = ['files', 'files_search', 'files_find', 'files_watch', 'ports', 'ports_expose', 'metrics', 'system', 'mcp'];

function fullHealth(s: {
  manager: JobManager;
  reach: ReachInfo;
  startedAt: number;
  terminal: TerminalService;
  files: { roots: string[]; search: string; watch: boolean };
}): Record<string, unknown> {
  const modes = s.manager.modes();
  const modeHealth = Object.assign({}, ...s.manager.runnerList().map((r) => r.health?.() ?? {}));
  return {
    status: 'ok',
    version: VERSION,
    hostname: hostname(),
    jobs: s.manager.store.size(),
    cwd: process.cwd(),
    authenticated: true,
    ...s.terminal.health(),
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
    capabilities: s.files.watch ? CAPABILITIES : CAPABILITIES.filter((c) => c !== 'files_watch'),
    files_roots: s.files.roots,
    files_search: s.files.search,
    files_watch_supported: s.files.watch,
    pid: process.pid,
    uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
  };
}

/** The seed's refusals of `POST /update`, in its order: jobs, then terminals, then persistent shells. */
function busyReason(manager: JobManager, terminal: TerminalService): Record<string, unknown> | undefined {
  const jobs = manager.activeCount();
  if (jobs > 0) return { error: 'cannot update while jobs are running', running_jobs: jobs };
  const terminals = terminal.sessionCount();
  if (terminals > 0) return { error: 'cannot update while terminal sessions are active', terminal_sessions: terminals };
  const shells = manager.runnerList().reduce((n, r) => n + (r.activeCount?.() ?? 0), 0);
  if (shells > 0) return { error: 'cannot update while persistent shell sessions are active', persistent_sessions: shells };
  return undefined;
}
