// The terminal service as the core sees it: the routes of the page, tickets and the session list,
// and an upgrade handler for the WebSocket (on the command port at /terminal/ws and on the terminal port).
import { statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { isAbsolute, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import type { RouteSpec } from '../http/route-spec';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HostPolicy } from '../http/hosts';
import type { Logger } from '../log';
import { decideUpgrade, type AccessPolicy } from './access';
import { refuseOnSocket } from '../http/respond';
import { requestUrl } from '../http/respond';
import { resolveTerminalOptions, type TerminalOptions } from './options';
import { CLOSE, controlFrame, sizeFromQuery } from './protocol';
import { defaultShell, loadPtyModule, terminalEnv, type PtyLoad, type PtyModuleSource } from './pty';
import { terminalRoutes } from './routes';
import { TerminalSession, type TerminalSessionInfo, type SessionSpec } from './session';
import { TicketStore } from './tickets';

export interface TerminalServiceInit {
  /** Limits; missing ones take their defaults, out-of-bounds ones throw (see options.ts). */
  options?: Partial<TerminalOptions>;
  /** Constant-time check of an API key (the core's auth). */
  checkKey: (key: string | undefined) => boolean;
  logger: Logger;
  /** Browser origins besides the server's own that may open terminals (e.g. a dashboard, a tunnel URL). */
  allowedOrigins?: readonly string[] | (() => readonly string[]);
  /** A node-pty to prefer over @lydell/node-pty (VS Code's own copy inside the extension). */
  ptyModule?: PtyModuleSource;
  /** The `Host` names the server answers to (the command app checks the same). */
  hosts: HostPolicy;
}

export class TerminalService {
  readonly options: TerminalOptions;
  private readonly logger: Logger;
  private readonly pty: PtyLoad;
  private readonly sessions = new Map<string, TerminalSession>();
  private readonly tickets: TicketStore;
  private readonly access: AccessPolicy;
  private readonly wss: WebSocketServer;
  private disposed = false;
  /** Why new sessions are refused (a drain for an update); reconnects to existing ones still work. */
  private refusing: string | undefined;
  private readonly sessionListeners = new Set<() => void>();

  constructor(private readonly init: TerminalServiceInit) {
    this.options = resolveTerminalOptions(init.options);
    this.logger = init.logger;
    this.pty = loadPtyModule(init.ptyModule);
    if (this.pty.ok) this.logger.debug(`terminal: using node-pty from ${this.pty.from}`);
    else this.logger.warn(`terminal: unsupported here: ${this.pty.reason}`);
    this.tickets = new TicketStore(this.options.ticketTtlMs, this.options.maxTickets);
    const origins = init.allowedOrigins;
    this.access = {
      checkKey: init.checkKey,
      tickets: this.tickets,
      allowedOrigins: typeof origins === 'function' ? origins : () => origins ?? [],
      hosts: init.hosts,
    };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Whether `key` is the API key (the routes' `key` check where no app-wide one precedes them). */
  checkKey(key: string | undefined): boolean {
    return this.init.checkKey(key);
  }

  routes(): RouteSpec[] {
    return terminalRoutes({
      supported: () => this.supported(),
      unsupportedReason: () => (this.pty.ok ? undefined : this.pty.reason),
      issueTicket: () => this.tickets.issue(),
      ticketTtlMs: () => this.options.ticketTtlMs,
      list: () => this.list(),
      maxSessions: () => this.options.maxSessions,
      endSession: (id) => this.endSession(id),
    });
  }

  /**
   * Takes a WebSocket upgrade request. Refuses with a plain HTTP 401 (no key, bad key, bad ticket),
   * 403 (a foreign browser origin) or 503 (no PTY support, draining, shutting down) before any WebSocket opens.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}); // A peer that resets mid-handshake must not crash the server.
    const url = requestUrl(req);
    if (!url) return refuseOnSocket(socket, 400, 'the request target is not a valid path');
    const query = url.searchParams;
    const decision = decideUpgrade(req, query, this.access);
    if (!decision.ok) {
      this.logger.warn(`terminal: refused upgrade from ${req.socket.remoteAddress}: ${decision.error}`);
      return refuseOnSocket(socket, decision.status, decision.error);
    }
    if (this.disposed) return refuseOnSocket(socket, 503, 'server shutting down');
    if (this.refusing && !query.has('session')) return refuseOnSocket(socket, 503, this.refusing);
    if (!this.pty.ok) return refuseOnSocket(socket, 503, `terminals are not supported here: ${this.pty.reason}`);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connect(ws, query));
  }

  /** Refuses new sessions with 503 and this reason (undefined accepts them again). */
  refuse(reason: string | undefined): void {
    this.refusing = reason;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  supported(): boolean {
    return this.pty.ok;
  }

  /** The terminal's part of `GET /health`. */
  health(): Record<string, unknown> {
    return {
      terminal_supported: this.pty.ok,
      terminal_sessions: this.sessions.size,
      terminal_max_sessions: this.options.maxSessions,
      ...(this.pty.ok ? { terminal_pty: this.pty.from } : { terminal_unsupported_reason: this.pty.reason }),
    };
  }

  /** Calls `listener` when a session starts or ends, until the returned function is called (for in-process hosts). */
  onSessionsChange(listener: () => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  private sessionsChanged(): void {
    for (const listener of this.sessionListeners) listener();
  }

  list(): TerminalSessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  /** Types `data` into a session's shell; false when there is no such live session. */
  input(id: string, data: string): boolean {
    return this.sessions.get(id)?.input(data) ?? false;
  }

  /** A session's screen as plain text; undefined when there is no such live session. */
  async screenText(id: string): Promise<string | undefined> {
    return this.sessions.get(id)?.screenText();
  }

  async endSession(id: string): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session) return false;
    await session.end('deleted');
    return true;
  }

  /** Ends every terminal (their shells get SIGHUP, then SIGKILL) and refuses new ones. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all([...this.sessions.values()].map((s) => s.end('shutdown')));
    this.wss.close();
  }

  private connect(ws: WebSocket, query: URLSearchParams): void {
    const resumeId = query.get('session');
    if (resumeId) {
      const session = this.sessions.get(resumeId);
      if (!session || session.ended) {
        return reject(ws, CLOSE.sessionNotFound, `no terminal session ${resumeId} (it ended, or its reconnect grace period ran out)`);
      }
      const sized = query.has('cols') && query.has('rows');
      return session.attach(ws, true, sized ? sizeFromQuery(query.get('cols'), query.get('rows')) : undefined);
    }
    if (this.disposed) return reject(ws, CLOSE.goingAway, 'server shutting down');
    if (this.sessions.size >= this.options.maxSessions) {
      return reject(
        ws,
        CLOSE.tryAgainLater,
        `too many terminal sessions (max ${this.options.maxSessions}); end one with DELETE /terminals/{id} or try again later`,
      );
    }
    let spec: SessionSpec;
    try {
      spec = this.sessionSpec(query);
    } catch (err) {
      return reject(ws, CLOSE.policy, (err as Error).message);
    }
    if (!this.pty.ok) return reject(ws, CLOSE.internal, this.pty.reason);
    let session: TerminalSession;
    try {
      session = new TerminalSession(this.pty.module, spec, this.options, this.logger, (s) => {
        this.sessions.delete(s.id);
        this.sessionsChanged();
      });
    } catch (err) {
      this.logger.error(`terminal: could not start ${spec.shell}: ${(err as Error).message}`);
      return reject(ws, CLOSE.internal, `could not start the shell ${spec.shell}: ${(err as Error).message}`);
    }
    this.sessions.set(session.id, session);
    session.attach(ws, false);
    this.sessionsChanged();
  }

  private sessionSpec(query: URLSearchParams): SessionSpec {
    const base = this.options.defaultWorkdir ?? process.cwd();
    const asked = query.get('workdir');
    const cwd = asked ? (isAbsolute(asked) ? asked : resolve(base, asked)) : base;
    let isDir = false;
    try {
      isDir = statSync(cwd).isDirectory();
    } catch {
      // Reported below.
    }
    if (!isDir) throw new Error(`workdir ${cwd} is not an existing directory`);
    const command = query.get('command') || undefined;
    return { shell: defaultShell(this.options.shell), args: [], cwd, env: terminalEnv(), command, ...sizeFromQuery(query.get('cols'), query.get('rows')) };
  }
}

/** Refuses a connection that is already a WebSocket: an error control message, then a close with a code. */
function reject(ws: WebSocket, code: number, message: string): void {
  ws.send(controlFrame({ type: 'error', message }));
  ws.close(code, message.slice(0, 120));
}
