// The server's lifecycle inside the editor: start, stop, restart on setting changes, the key kept in the
// editor's secret storage, and the tunnel and registration. Free of `vscode` (the editor's parts come in
// as small interfaces), so it is tested against the real core.
import { EventEmitter } from 'node:events';
import { rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generateKey, keyFromEnv, KeyStore } from '../server/auth';
import type { PendingPermission } from '../server/modes/acp/permissions';
import type { Logger } from '../server/log';
import { startReach, type Reach } from '../server/reach';
import type { ChallengeEvent } from '../server/register';
import { startServer, type AgentServer } from '../server/server';
import { probeStateDir, StateDirInUse } from '../server/state-lock';
import type { PtyModuleSource } from '../server/terminal/pty';
import { VERSION } from '../server/version';
import { needsRestart, reachChanged, serverOptions, terminalOptions, type ExtensionSettings } from './settings';

/** Where the key lives between sessions (the editor's SecretStorage, which every window shares). */
export interface KeyVault {
  get(): Promise<string | undefined>;
  set(key: string): Promise<void>;
  /** Fires when the key is stored, in this window or another. */
  onDidChange?(listener: () => void): { dispose(): void };
}

export interface ControllerDeps {
  stateDir: string;
  logger: Logger;
  vault: KeyVault;
  env?: NodeJS.ProcessEnv;
  /** The node-pty to use (VS Code's own first). */
  ptyModule?: PtyModuleSource;
  /** `POST /update` reached an idle server: the marketplace updates the extension, never an exit. */
  onUpdateRequested?: () => void;
  /** A person answers an ACP permission request (policy `ask`): the chosen optionId, or undefined to reject. */
  askPermission?: (jobId: string, request: PendingPermission) => Promise<string | undefined>;
  /** In standby, how often to try to take the server over; default 2000 ms. */
  standbyRetryMs?: number;
}

/**
 * `standby`: another window's server holds the state dir (every window of the editor shares it); this
 * one takes over when that window closes, so the machine stays served as long as one window is open. A
 * person's Stop Server in the serving window stops the machine's server: every window shows `stopped`
 * then, and goes on watching, to stand by again (or take over) once a Start anywhere lifts it.
 */
export type ServerState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed' | 'standby';

/** What the status bar and the commands show. */
export interface ServerInfo {
  state: ServerState;
  error?: string;
  /** In standby: the pid of the server this window waits on (when it said who it is). */
  servedBy?: number;
  url?: string;
  port?: number;
  activeJobs: number;
  terminals: number;
  tunnelUrl: string | null;
  terminalUrl: string | null;
  registration: unknown;
}

/** In the shared state dir while a person has stopped the machine's server (see ServerState). */
const STOPPED_MARKER = 'stopped-by-person';

/** Events: `change` (ServerInfo), `challenge` (ChallengeEvent), `warning` (a message for the person). */
export class ServerController extends EventEmitter {
  server: AgentServer | undefined;
  private reach: Reach | undefined;
  private state: ServerState = 'stopped';
  private error: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set while this window waits to take the server over (state `standby`, or `stopped` by a person elsewhere). */
  private watching: { timer: NodeJS.Timeout; servedBy: number | undefined } | undefined;
  private readonly vaultWatch: { dispose(): void } | undefined;

  constructor(
    private readonly deps: ControllerDeps,
    private settings: ExtensionSettings,
  ) {
    super();
    this.vaultWatch = deps.vault.onDidChange?.(() => void this.followVault());
  }

  info(): ServerInfo {
    const s = this.server;
    return {
      state: this.state,
      error: this.error,
      servedBy: this.state === 'standby' ? this.watching?.servedBy : undefined,
      url: s?.url,
      port: s?.port,
      activeJobs: s?.manager.activeCount() ?? 0,
      terminals: s?.terminal.sessionCount() ?? 0,
      tunnelUrl: s?.reach.tunnel_url ?? null,
      terminalUrl: s?.reach.terminal_url ?? null,
      registration: s?.reach.registration ?? null,
    };
  }

  /** The key in force: the running server's, else the one a start would take. */
  async key(): Promise<string> {
    return (this.server?.keys ?? (await this.loadKeys())).current();
  }

  /** A person's (or the activation's) start: in standby when another window serves. */
  start(): Promise<void> {
    return this.serially(() => {
      this.markStoppedByPerson(false);
      return this.doStart();
    });
  }

  /**
   * A person's stop. Of the serving window: the machine's server stops, no window takes over, and this one
   * watches like the others, to stand by once a Start elsewhere lifts the stop. Of a window standing by:
   * it stops watching.
   */
  stop(): Promise<void> {
    return this.serially(async () => {
      if (!this.server) return this.doStop();
      this.markStoppedByPerson(true); // while the lock is held: see takeOver
      await this.doStop();
      this.watch('stopped', undefined, true);
    });
  }

  restart(): Promise<void> {
    return this.serially(async () => {
      this.markStoppedByPerson(false);
      await this.stopAndStart();
    });
  }

  /** Follows a change of settings: a restart when the server itself changes, else only the reach. */
  applySettings(next: ExtensionSettings): Promise<void> {
    const before = this.settings;
    this.settings = next;
    return this.serially(async () => {
      if (this.state !== 'running') return;
      if (needsRestart(before, next)) {
        await this.stopAndStart();
      } else if (reachChanged(before, next)) {
        await this.reach?.stop();
        await this.openReach({});
      }
    });
  }

  /**
   * A new key, kept in the vault and in force at once (the old one is refused); from a window standing by,
   * in force as soon as the serving window hears of the vault's change.
   */
  async rotateKey(): Promise<string> {
    const keys = this.server?.keys ?? (await this.loadKeys());
    keys.rotate();
    await this.deps.vault.set(keys.current());
    return keys.current();
  }

  /** Starts the tunnel (and registration, if configured) on the running server. */
  startTunnel(tunnelId?: string): Promise<void> {
    return this.serially(async () => {
      if (!this.server) throw new Error('the server is not running');
      await this.reach?.stop();
      await this.openReach({ tunnel: true, tunnelId });
    });
  }

  register(url: string, name: string): Promise<void> {
    return this.serially(async () => {
      if (!this.server) throw new Error('the server is not running');
      await this.reach?.stop();
      await this.openReach({ register: url, name });
    });
  }

  /** A person's answer to an ACP job's pending permission request (Approve / Reject in the Agents view). */
  answerPermission(jobId: string, requestId: string, optionId: string): void {
    if (!this.server) throw new Error('the server is not running');
    this.server.acp.permissions.answer(jobId, requestId, optionId);
  }

  /** The window closes: its server stops, and a window standing by takes over. */
  async dispose(): Promise<void> {
    this.vaultWatch?.dispose();
    await this.serially(() => this.doStop());
    this.removeAllListeners();
  }

  /** The server again, on this window's settings; its keys read before the lock is let go, so the gap is short. */
  private async stopAndStart(): Promise<void> {
    if (!this.server) return this.doStart();
    const keys = await this.loadKeys();
    await this.doStop();
    await this.doStart(keys);
  }

  private async doStart(preloaded?: KeyStore): Promise<void> {
    if (this.server) return;
    const wasWatching = this.unwatch();
    if (!wasWatching) this.setState('starting');
    try {
      const keys = preloaded ?? (await this.loadKeys());
      this.server = await startServer(serverOptions(this.settings, this.deps.stateDir), {
        logger: this.deps.logger,
        keys,
        // Held by another window (or one reloading, still ending its jobs): no waiting here, the
        // standby tries again until it is free.
        stateLockWaitMs: 0,
        terminal: { options: terminalOptions(this.settings), ptyModule: this.deps.ptyModule },
        acp: { defaultAgent: this.settings.acp.defaultAgent, defaultPolicy: this.settings.acp.permissionPolicy },
        update: () => ({
          response: {
            status: 'marketplace',
            version: VERSION,
            message: 'This server runs inside the VS Code extension, which the marketplace updates; VS Code was asked to check for updates.',
          },
          after: this.deps.onUpdateRequested,
        }),
      });
      this.server.acp.permissions.on('request', (jobId: string, request: PendingPermission) => void this.ask(jobId, request));
      this.error = undefined;
      this.setState('running');
      await this.followVault(); // a key stored by another window while this one started
      await this.openReach({});
    } catch (err) {
      this.server = undefined;
      if (err instanceof StateDirInUse) return this.watch('standby', err.holderPid, wasWatching);
      this.error = (err as Error).message;
      this.setState('failed');
      throw err;
    }
  }

  /** Waits to take the server over, trying every `standbyRetryMs`; `quiet` when it was waiting already. */
  private watch(state: 'standby' | 'stopped', servedBy: number | undefined, quiet: boolean): void {
    const timer = setTimeout(() => void this.takeOver(timer), this.deps.standbyRetryMs ?? 2000);
    timer.unref();
    if (!quiet)
      this.deps.logger.info(`another window's server${servedBy ? ` (pid ${servedBy})` : ''} serves this machine; this window takes over when that one closes`);
    this.watching = { timer, servedBy };
    this.error = undefined;
    if (this.state !== state) this.setState(state);
  }

  private takeOver(timer: NodeJS.Timeout): Promise<void> {
    return this.serially(async () => {
      if (this.watching?.timer !== timer) return; // stopped, or started by hand, meanwhile
      // Asking the holder is cheap; a start reads the secret store and loads the jobs.
      const holder = await probeStateDir(this.deps.stateDir);
      if (holder !== 'gone') return this.watch('standby', typeof holder === 'number' ? holder : this.watching?.servedBy, true);
      if (this.stoppedByPerson()) return this.watch('stopped', undefined, true);
      await this.doStart().catch((err: Error) => {
        this.deps.logger.error(`could not take the server over: ${err.message}`);
        this.emit('warning', `could not take over serving this machine: ${err.message}`);
      });
      // The marker of a person's Stop is written while the serving window still holds the lock, so once
      // this window holds it, the marker is seen for sure (the check above may have come just before it).
      if (this.server && this.stoppedByPerson()) {
        await this.doStop();
        this.watch('stopped', undefined, true);
      }
    });
  }

  /** Marks (or unmarks) the machine's server as stopped by a person, for the windows standing by. */
  private markStoppedByPerson(stopped: boolean): void {
    const marker = join(this.deps.stateDir, STOPPED_MARKER);
    try {
      if (stopped) writeFileSync(marker, `stopped by a person in the window of pid ${process.pid}\n`);
      else rmSync(marker, { force: true });
    } catch (err) {
      // Not worth failing the Stop or the Start for: only the windows standing by would misjudge it.
      this.deps.logger.warn(`could not ${stopped ? 'write' : 'remove'} ${marker}: ${(err as Error).message}`);
    }
  }

  private stoppedByPerson(): boolean {
    return existsSync(join(this.deps.stateDir, STOPPED_MARKER));
  }

  /** Stops waiting to take over: whether it was. */
  private unwatch(): boolean {
    if (!this.watching) return false;
    clearTimeout(this.watching.timer);
    this.watching = undefined;
    return true;
  }

  private async doStop(): Promise<void> {
    if (this.unwatch()) this.setState('stopped');
    if (!this.server) return;
    this.setState('stopping');
    await this.reach?.stop();
    this.reach = undefined;
    await this.server.close();
    this.server = undefined;
    this.setState('stopped');
  }

  private async openReach(extra: { tunnel?: boolean; tunnelId?: string; register?: string; name?: string }): Promise<void> {
    const s = this.settings;
    const tunnel = extra.tunnel ?? s.tunnel.enabled;
    const register = extra.register ?? (s.register.url || undefined);
    this.reach = await startReach(this.server!, {
      tunnel,
      tunnelId: extra.tunnelId ?? (s.tunnel.id || undefined),
      register,
      name: extra.name ?? (s.register.name || hostname()),
      logger: this.deps.logger,
      env: this.deps.env,
    });
    this.reach.on('challenge', (c: ChallengeEvent) => this.emit('challenge', c));
    this.reach.on('warning', (m: string) => this.emit('warning', m));
    this.reach.on('tunnel', () => this.emit('change', this.info()));
    this.reach.on('registration', () => this.emit('change', this.info()));
    this.emit('change', this.info());
  }

  private async ask(jobId: string, request: PendingPermission): Promise<void> {
    const optionId = await this.deps.askPermission?.(jobId, request).catch(() => undefined);
    if (optionId === undefined) return; // the request's deadline rejects it
    try {
      this.server?.acp.permissions.answer(jobId, request.requestId, optionId);
    } catch (err) {
      this.deps.logger.warn(`permission answer for job ${jobId} not taken: ${(err as Error).message}`);
    }
  }

  /** The environment's key, else the vault's (read afresh: another window may have rotated it), else a new one kept there. */
  private async loadKeys(): Promise<KeyStore> {
    const fromEnv = keyFromEnv(this.deps.env ?? process.env);
    if (fromEnv) return new KeyStore(fromEnv.key, 'env');
    let key = await this.deps.vault.get();
    if (!key) {
      key = generateKey();
      await this.deps.vault.set(key);
    }
    return new KeyStore(key, 'option');
  }

  /** The vault changed (a window rotated the key): the running server takes the new key, unless the environment's rules. */
  private async followVault(): Promise<void> {
    const keys = this.server?.keys;
    if (!keys || keys.source === 'env') return;
    try {
      const key = await this.deps.vault.get();
      if (key && key !== keys.current()) keys.set(key);
    } catch (err) {
      this.deps.logger.warn(`could not read the key from secret storage: ${(err as Error).message}`);
    }
  }

  private setState(state: ServerState): void {
    this.state = state;
    this.emit('change', this.info());
  }

  /** Lifecycle steps never interleave (a restart during a start waits for it). */
  private serially<T>(step: () => Promise<T>): Promise<T> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
