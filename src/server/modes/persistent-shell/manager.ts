// The named persistent shells of this server: created on first use, looked up by key, bounded in
// number, expired when idle, and all ended with the server.
import { tmpdir } from 'node:os';
import { HttpError } from '../../errors';
import type { Logger } from '../../log';
import { silentLogger } from '../../log';
import type { ShellCatalog, ShellKind } from './catalog';
import { ShellSession, type CommandHandle, type CommandRequest, type ShellSessionInfo, type SessionSeed } from './session';

export interface SessionLimits {
  /** Sessions that may exist at once. Seed default 32. */
  maxSessions: number;
  /** A session unused for this long is ended, seconds; 0 never (the predecessor's default, docs/COMPATIBILITY.md). */
  idleTimeoutSeconds: number;
  /** Time the processes of a cancelled command get between TERM and KILL, ms. */
  killGraceMs: number;
  /** Where sessions keep their per-command files (default: the OS temp dir). */
  tmpDir?: string;
}

export class SessionManager {
  private readonly sessions = new Map<string, ShellSession>();
  private readonly sweeper: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly catalog: ShellCatalog,
    readonly limits: SessionLimits,
    private readonly logger: Logger = silentLogger,
  ) {
    if (limits.idleTimeoutSeconds > 0) {
      // Checked a few times per timeout (at most every 30 s) so a session lives at most ~25% past it.
      const every = Math.min(30_000, Math.max(250, (limits.idleTimeoutSeconds * 1000) / 4));
      this.sweeper = setInterval(() => this.expireIdle(), every);
      this.sweeper.unref();
    }
  }

  get(key: string): ShellSession | undefined {
    return this.sessions.get(key);
  }

  /** Calls `listener` when a session is created or ended, until the returned function is called (for in-process hosts). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  list(): ShellSessionInfo[] {
    return [...this.sessions.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((s) => s.info());
  }

  size(): number {
    return this.sessions.size;
  }

  /** Sessions holding live state (a shell process or commands): what `POST /update` would lose. */
  liveCount(): number {
    return [...this.sessions.values()].filter((s) => s.processAlive() || s.busy()).length;
  }

  /**
   * Throws the HTTP error a command for `key` in `shell` would meet (a session of another shell under
   * that key, or no room for a new one), so `POST /exec` can refuse before creating a job.
   */
  check(key: string, shell: ShellKind): void {
    const existing = this.sessions.get(key);
    if (existing) {
      if (existing.shell !== shell) {
        throw new HttpError(409, `session '${key}' already uses shell '${existing.shell}'`, { sessionKey: key, shell: existing.shell });
      }
      return;
    }
    if (this.sessions.size >= this.limits.maxSessions) {
      throw new HttpError(409, `maximum persistent shell sessions reached (${this.limits.maxSessions}); delete one with DELETE /sessions/{key}`, {
        persistent_shell_max_sessions: this.limits.maxSessions,
      });
    }
  }

  /**
   * Runs a command in the session `key`, creating it (with `seed` as its seed state) on first use.
   * This is also the hook other modes use (ACP `terminal/create` in a named session).
   */
  run(key: string, shell: ShellKind, seed: SessionSeed, req: CommandRequest): CommandHandle {
    return this.open(key, shell, seed).run(req);
  }

  /** The session `key`, created on first use; throws as `check` does. */
  open(key: string, shell: ShellKind, seed: SessionSeed): ShellSession {
    this.check(key, shell);
    const existing = this.sessions.get(key);
    if (existing) return existing;
    const executable = this.catalog.executable(shell);
    if (!executable) throw new HttpError(400, `shell is not available on this machine: ${shell}`, { available_shells: this.catalog.available() });
    const session = new ShellSession(key, shell, executable, seed, { killGraceMs: this.limits.killGraceMs, tmpDir: this.limits.tmpDir ?? tmpdir() });
    this.sessions.set(key, session);
    this.changed();
    this.logger.debug(`shells: created session ${key} (${shell}) in ${seed.workdir}`);
    return session;
  }

  /** Ends and forgets a session; false when there is none by that key. */
  async delete(key: string): Promise<boolean> {
    const session = this.sessions.get(key);
    if (!session) return false;
    this.sessions.delete(key);
    this.changed();
    await session.close();
    this.logger.debug(`shells: deleted session ${key}`);
    return true;
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.keys()];
    await Promise.all(all.map((k) => this.delete(k)));
  }

  /** Ends sessions with no command running or waiting that were not used within the idle timeout. */
  expireIdle(now = Date.now() / 1000): string[] {
    const limit = this.limits.idleTimeoutSeconds;
    if (limit <= 0) return [];
    const expired = [...this.sessions.values()].filter((s) => !s.busy() && now - s.lastUsedAt > limit).map((s) => s.key);
    for (const key of expired) {
      this.logger.info(`shells: session ${key} idle for more than ${limit} s; ended`);
      void this.delete(key);
    }
    return expired;
  }
}
