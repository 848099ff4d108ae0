// Dashboard registration, the predecessor's protocol exactly (docs/reach.md): try `POST /api/register/refresh-token`
// first (a machine the dashboard already knows); else submit a pending registration with a challenge code
// that a person types into the dashboard, and poll until it is confirmed or the time is up.
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from './backoff';
import { resolveBounded, type Bounds } from '../common/bounds';
import { silentLogger, type Logger } from './log';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export type RegistrationLimitName = 'pollIntervalMs' | 'confirmTimeoutMs' | 'requestTimeoutMs' | 'networkRetries' | 'retryInitialMs' | 'retryMaxMs';

/** Every limit of registration, with its default and bound (documented in docs/reach.md). */
export const REGISTRATION_LIMITS: Bounds<RegistrationLimitName> = {
  /** How often the status of a pending registration is asked (the predecessor's 5 s). */
  pollIntervalMs: { default: 5 * SECOND, min: 100, max: MINUTE },
  /** How long a challenge code waits for a person to confirm it (the predecessor's 10 min). */
  confirmTimeoutMs: { default: 10 * MINUTE, min: SECOND, max: 24 * 60 * MINUTE },
  /** How long one request to the dashboard may take. */
  requestTimeoutMs: { default: 15 * SECOND, min: 100, max: 2 * MINUTE },
  /** Extra tries of a request that could not reach the dashboard (connection refused, DNS, timeout). */
  networkRetries: { default: 5, min: 0, max: 100 },
  /** First wait before such a retry; doubles up to retryMaxMs. */
  retryInitialMs: { default: SECOND, min: 10, max: MINUTE },
  retryMaxMs: { default: 30 * SECOND, min: 10, max: 10 * MINUTE },
};

/** What the dashboard is told about this machine; read afresh for every request. */
export interface RegistrationInfo {
  tunnel_url: string;
  terminal_url: string;
  tunnel_token: string;
  api_key: string;
}

export interface RegistrationOptions {
  /** The dashboard's base URL (`--register URL`). */
  dashboardUrl: string;
  /** This machine's name on the dashboard (`--name`). */
  name: string;
  info: () => RegistrationInfo;
  logger?: Logger;
  limits?: Partial<Record<RegistrationLimitName, number>>;
}

export type RegistrationStatus = 'starting' | 'submitting' | 'pending' | 'registered' | 'failed' | 'timeout' | 'stopped';

/** The observable state (the `registration` field of `/health`); never holds the key or the token. */
export interface RegistrationState {
  status: RegistrationStatus;
  dashboard: string;
  name: string;
  /** How it got registered: `refresh` (the dashboard knew this machine) or `challenge`. */
  via?: 'refresh' | 'challenge';
  challenge_code?: string;
  registration_id?: string;
  /** What the dashboard said about the registered machine (`updated`, or `devbox` on confirmation). */
  devbox?: unknown;
  error?: string;
  /** Epoch ms after which a pending code is no longer polled. */
  expires_at?: number;
  updated_at: number;
}

/** The challenge shown to a person: `code` typed at `confirm_url`. */
export interface ChallengeEvent {
  code: string;
  registration_id: string;
  confirm_url: string;
  expires_at: number;
}

/** `ABC-1234`: three capital letters and four digits, from a cryptographic source. */
export function challengeCode(): string {
  const letters = Array.from({ length: 3 }, () => String.fromCharCode(65 + randomInt(26))).join('');
  const digits = Array.from({ length: 4 }, () => String(randomInt(10))).join('');
  return `${letters}-${digits}`;
}

class Unreachable extends Error {}
class Stopped extends Error {}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

/**
 * One registration with one dashboard. Events: `state` (RegistrationState, on every change) and
 * `challenge` (ChallengeEvent, when a code must be shown: a console banner, a VS Code notification).
 */
export class Registration extends EventEmitter {
  state: RegistrationState;
  private readonly base: string;
  private readonly limits: Record<RegistrationLimitName, number>;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private running: Promise<RegistrationState> | undefined;
  private pushWanted = false;
  /**
   * The key the dashboard last accepted from this machine. After a key rotation it goes as
   * `current_api_key` beside the new `api_key`, so the dashboard can tell the machine is who it says.
   */
  private acceptedKey: string | undefined;

  constructor(private readonly options: RegistrationOptions) {
    super();
    this.base = dashboardBase(options.dashboardUrl);
    if (!options.name.trim()) throw new RangeError('registration needs a machine name (--name)');
    this.limits = resolveBounded(REGISTRATION_LIMITS, options.limits ?? {}, 'registration option');
    this.logger = options.logger ?? silentLogger;
    this.state = { status: 'starting', dashboard: this.base, name: options.name, updated_at: Date.now() };
  }

  /** Runs the protocol once; resolves with the final state (registered, failed, timeout or stopped). */
  start(): Promise<RegistrationState> {
    return (this.running ??= this.run());
  }

  /**
   * Tells the dashboard the current URL and token (after a token refresh or a new tunnel URL) with the
   * refresh-token call. Before registration completes it is remembered and done once registered.
   */
  async pushUpdate(): Promise<boolean> {
    if (this.state.status !== 'registered') {
      this.pushWanted = true;
      return false;
    }
    try {
      const body = this.refreshBody();
      const reply = await this.request('POST', '/api/register/refresh-token', body);
      if (reply.status < 300 && reply.body.updated) {
        this.acceptedKey = body.api_key;
        this.logger.info(`registration: dashboard updated with the current tunnel URL and token`);
        return true;
      }
      this.logger.warn(`registration: the dashboard did not take the update (HTTP ${reply.status}: ${snippet(reply.text)})`);
    } catch (err) {
      if (!(err instanceof Stopped)) this.logger.warn(`registration: could not push the update: ${(err as Error).message}`);
    }
    return false;
  }

  /** Stops polling and retrying. */
  stop(): void {
    this.abort.abort();
    if (!isFinal(this.state.status)) this.set({ status: 'stopped' });
  }

  private async run(): Promise<RegistrationState> {
    try {
      if (await this.refresh()) {
        await this.afterRegistered();
        return this.state;
      }
      await this.challenge();
      if (this.state.status === 'registered') await this.afterRegistered();
    } catch (err) {
      if (err instanceof Stopped) this.set({ status: 'stopped' });
      else this.fail(err instanceof Unreachable ? err.message : `registration failed: ${(err as Error).message}`);
    }
    return this.state;
  }

  /** True when the dashboard already knew this machine and took the new details. */
  private async refresh(): Promise<boolean> {
    const body = this.refreshBody();
    const reply = await this.request('POST', '/api/register/refresh-token', body);
    // The seed takes any answer without `updated` (404 for an unknown machine, mostly) as "register anew".
    if (reply.status < 300 && reply.body.updated) {
      this.acceptedKey = body.api_key;
      this.logger.info(`registration: re-registered with ${this.base} (devbox: ${String(reply.body.updated)})`);
      this.set({ status: 'registered', via: 'refresh', devbox: reply.body.updated });
      return true;
    }
    this.logger.debug(`registration: refresh-token answered HTTP ${reply.status}; registering with a challenge code`);
    return false;
  }

  private async challenge(): Promise<void> {
    const code = challengeCode();
    this.set({ status: 'submitting' });
    const info = this.options.info();
    this.acceptedKey = info.api_key; // what the dashboard will hold once the code is confirmed
    const reply = await this.request('POST', '/api/register', {
      name: this.options.name,
      tunnel_url: info.tunnel_url,
      terminal_url: info.terminal_url,
      challenge_code: code,
      ...(info.api_key ? { api_key: info.api_key } : {}),
      ...(info.tunnel_token ? { tunnel_token: info.tunnel_token } : {}),
    });
    if (reply.status >= 300) {
      return this.fail(`the dashboard refused the registration (HTTP ${reply.status}${reply.text ? `: ${snippet(reply.text)}` : ''})`);
    }
    const id = reply.body.id;
    if ((typeof id !== 'string' && typeof id !== 'number') || id === '') {
      return this.fail(`the dashboard accepted the registration but sent no id (${snippet(reply.text) || 'empty answer'})`);
    }
    const expiresAt = Date.now() + this.limits.confirmTimeoutMs;
    const event: ChallengeEvent = { code, registration_id: String(id), confirm_url: `${this.base}/devboxes`, expires_at: expiresAt };
    this.set({ status: 'pending', via: 'challenge', challenge_code: code, registration_id: String(id), expires_at: expiresAt });
    this.emit('challenge', event);
    await this.poll(String(id), expiresAt);
  }

  private async poll(id: string, expiresAt: number): Promise<void> {
    const path = `/api/register/${encodeURIComponent(id)}/status`;
    while (Date.now() < expiresAt) {
      await this.pause(Math.min(this.limits.pollIntervalMs, Math.max(0, expiresAt - Date.now())));
      let reply: Reply;
      try {
        reply = await this.request('GET', path, undefined, 0);
      } catch (err) {
        if (err instanceof Stopped) throw err;
        this.logger.debug(`registration: status poll failed (${(err as Error).message}); polling on`);
        continue;
      }
      const status = reply.status < 300 ? reply.body.status : undefined;
      if (status === 'confirmed') {
        const devbox = reply.body.devbox as { name?: string; id?: unknown } | undefined;
        this.logger.info(`registration: confirmed as ${devbox?.name ?? this.options.name} (id ${String(devbox?.id ?? id)})`);
        this.set({ status: 'registered', devbox: reply.body.devbox ?? null, challenge_code: undefined, expires_at: undefined });
        return;
      }
      if (status === 'rejected' || status === 'denied' || status === 'expired') {
        return this.fail(`the dashboard answered "${status}" for registration ${id}; start again with --register for a new code`);
      }
    }
    this.set({
      status: 'timeout',
      challenge_code: undefined,
      error: `the code was not confirmed within ${Math.round(this.limits.confirmTimeoutMs / SECOND)} s; start again with --register for a new code`,
    });
    this.logger.warn(`registration: ${this.state.error}`);
  }

  private async afterRegistered(): Promise<void> {
    if (!this.pushWanted) return;
    this.pushWanted = false;
    await this.pushUpdate();
  }

  private refreshBody(): { api_key: string } & Record<string, unknown> {
    const info = this.options.info();
    return {
      name: this.options.name,
      tunnel_url: info.tunnel_url,
      terminal_url: info.terminal_url,
      tunnel_token: info.tunnel_token,
      api_key: info.api_key,
      current_api_key: this.acceptedKey ?? info.api_key,
    };
  }

  /**
   * One request with retries on network errors (backoff); any HTTP answer is returned as is. Throws
   * Unreachable when the tries run out, Stopped when stopped.
   */
  private async request(method: 'GET' | 'POST', path: string, body?: unknown, retries = this.limits.networkRetries): Promise<Reply> {
    const backoff = new Backoff(this.limits.retryInitialMs, this.limits.retryMaxMs);
    for (;;) {
      if (this.abort.signal.aborted) throw new Stopped();
      try {
        const res = await fetch(`${this.base}${path}`, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.limits.requestTimeoutMs)]),
        });
        const text = await res.text();
        return { status: res.status, body: parseObject(text), text };
      } catch (err) {
        if (this.abort.signal.aborted) throw new Stopped();
        const why = networkReason(err);
        if (backoff.attempts >= retries) {
          throw new Unreachable(`could not reach the dashboard at ${this.base} (${why}) after ${retries + 1} tries`);
        }
        const delay = backoff.next();
        this.logger.warn(`registration: ${method} ${path} failed (${why}); retrying in ${delay} ms`);
        await this.pause(delay);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
    } catch {
      throw new Stopped();
    }
  }

  private fail(error: string): void {
    this.logger.error(`registration: ${error}`);
    this.set({ status: 'failed', error, challenge_code: undefined });
  }

  private set(change: Partial<RegistrationState>): void {
    if (isFinal(this.state.status) && this.state.status !== 'registered') return;
    this.state = { ...this.state, ...change, updated_at: Date.now() };
    for (const k of Object.keys(this.state) as (keyof RegistrationState)[]) if (this.state[k] === undefined) delete this.state[k];
    this.emit('state', this.state);
  }
}

function isFinal(s: RegistrationStatus): boolean {
  return s === 'registered' || s === 'failed' || s === 'timeout' || s === 'stopped';
}

/** The dashboard's base URL without a trailing slash; anything but http(s) is refused. */
export function dashboardBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`--register takes the dashboard's http(s) URL (got "${url}")`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new RangeError(`--register takes an http(s) URL (got "${url}")`);
  return url.replace(/\/+$/, '');
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function networkReason(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

function snippet(text: string): string {
  return text.trim().replace(/\s+/g, ' ').slice(0, 200);
}
