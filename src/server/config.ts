// Every option of the core with its default and its bound, in one place (documented in docs/API.md).
import { defaultStateDir } from '../common/platform';
import { resolveBounded, type Bounds } from '../common/bounds';

export interface ServerOptions {
  /** Command server port. Default 8585; 0 picks a free port. */
  port: number;
  /** Bind address. Default 127.0.0.1 (tunnels forward to loopback); `0.0.0.0` exposes on the network. */
  host: string;
  /** Terminal port (the predecessor's layout). Default port + 1; -1 disables the separate listener. */
  terminalPort: number;
  /** Where the key file, job records and output logs live. */
  stateDir: string;
  /**
   * `Host` names the server answers to beyond its own (loopback names, IP addresses, this machine's host
   * name, the bind address, the tunnel's hosts): exact names, `.example.com` for a domain and its
   * subdomains, `*` for any. Default none; at most 100. See src/server/http/hosts.ts.
   */
  allowedHosts: string[];
  /** Largest accepted request body, bytes. Default 1 MiB, 1 KiB–64 MiB. */
  maxBodyBytes: number;
  /** Jobs running at once; more wait as `pending`. Default 16, 1–1024. */
  maxConcurrentJobs: number;
  /** Job records kept (oldest finished ones go first). Default 500, 20–100000. */
  maxJobsKept: number;
  /** Finished jobs older than this are forgotten, seconds. Default 7 days, 60 s–365 days. */
  jobRetentionSeconds: number;
  /** Default `timeout` of a job, seconds. Default 300 (the predecessor's), 1 s–24 days. */
  defaultTimeoutSeconds: number;
  /** Largest `timeout` a job may ask for, seconds. Default 7 days, 1 s–24 days. */
  maxTimeoutSeconds: number;
  /** Output text per stream in one job response, bytes; the rest is fetched by offset. Default 1 MiB, 1 KiB–64 MiB. */
  maxResponseOutputBytes: number;
  /** Longest `wait` of a long-poll, seconds. Default 60, 1–600. */
  maxWaitSeconds: number;
  /** Time a cancelled or timed-out job's processes get between TERM and KILL, ms. Default 2000, 0–60000. */
  killGraceMs: number;
  /** How long an `Idempotency-Key` is remembered, seconds. Default 24 h, 60 s–30 days. */
  idempotencyTtlSeconds: number;
  /** Named persistent shell sessions at once. Default 32 (the predecessor's), 1–1024; env DEVPILOT_PERSISTENT_SHELL_MAX_SESSIONS. */
  persistentShellMaxSessions: number;
  /** A persistent shell unused this long is ended, seconds; 0 never (the predecessor's default), up to 30 days; env DEVPILOT_PERSISTENT_SHELL_IDLE_TIMEOUT_SECONDS. */
  persistentShellIdleTimeoutSeconds: number;
  /** An ACP `ask` permission request nobody answers is rejected after this many seconds. Default 600, 1 s–24 h. */
  acpPermissionDeadlineSeconds: number;
  /** Folders the files API is confined to (`--files-root`, repeatable); empty: anywhere the server's user may go. */
  filesRoots: string[];
  /** Largest upload of `PUT /files/content`, bytes (streamed to disk, not held in memory). Default 16 GiB, 1 KiB–1 TiB. */
  filesMaxUploadBytes: number;
  /** Most results of one search or find (`limit`). Default 10000, 1–1000000. */
  filesMaxResults: number;
  /** A search or find still running after this long answers what it found, `truncated`, seconds. Default 60, 1–3600. */
  filesSearchTimeoutSeconds: number;
  /** Most entries of one page of `GET /files/list` (`limit`). Default 10000, 1–1000000. */
  filesListMaxEntries: number;
  /** File watch streams open at once. Default 64, 1–4096. */
  filesMaxWatches: number;
}

const DAY = 86400;
export const NUMERIC_OPTIONS: Bounds<Exclude<keyof ServerOptions, 'host' | 'stateDir' | 'allowedHosts' | 'filesRoots'>, ServerOptions> = {
  port: { default: 8585, min: 0, max: 65535 },
  // From the resolved port, so the defaults give 8586; a free port (0), or the last one, gives a free one too.
  terminalPort: { default: ({ port }) => (port && port < 65535 ? port + 1 : 0), min: -1, max: 65535 },
  maxBodyBytes: { default: 1 << 20, min: 1024, max: 64 << 20 },
  maxConcurrentJobs: { default: 16, min: 1, max: 1024 },
  maxJobsKept: { default: 500, min: 20, max: 100000 },
  jobRetentionSeconds: { default: 7 * DAY, min: 60, max: 365 * DAY },
  defaultTimeoutSeconds: { default: 300, min: 1, max: 24 * DAY },
  // 24 days is the longest delay a Node timer can hold.
  maxTimeoutSeconds: { default: 7 * DAY, min: 1, max: 24 * DAY },
  maxResponseOutputBytes: { default: 1 << 20, min: 1024, max: 64 << 20 },
  maxWaitSeconds: { default: 60, min: 1, max: 600 },
  killGraceMs: { default: 2000, min: 0, max: 60000 },
  idempotencyTtlSeconds: { default: DAY, min: 60, max: 30 * DAY },
  persistentShellMaxSessions: { default: 32, min: 1, max: 1024, env: 'DEVPILOT_PERSISTENT_SHELL_MAX_SESSIONS' },
  persistentShellIdleTimeoutSeconds: { default: 0, min: 0, max: 30 * DAY, env: 'DEVPILOT_PERSISTENT_SHELL_IDLE_TIMEOUT_SECONDS' },
  acpPermissionDeadlineSeconds: { default: 600, min: 1, max: DAY },
  filesMaxUploadBytes: { default: 16 * 2 ** 30, min: 1024, max: 2 ** 40 },
  filesMaxResults: { default: 10000, min: 1, max: 1_000_000 },
  filesSearchTimeoutSeconds: { default: 60, min: 1, max: 3600 },
  filesListMaxEntries: { default: 10000, min: 1, max: 1_000_000 },
  filesMaxWatches: { default: 64, min: 1, max: 4096 },
};

/** Fills defaults and rejects values out of bounds, naming the option. */
export function resolveOptions(partial: Partial<ServerOptions> = {}, env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const out = {
    host: partial.host ?? '127.0.0.1',
    stateDir: partial.stateDir ?? defaultStateDir(),
    allowedHosts: resolveAllowedHosts(partial.allowedHosts),
    filesRoots: [...(partial.filesRoots ?? [])],
  };
  return { ...out, ...resolveBounded(NUMERIC_OPTIONS, partial, 'option', env) } as ServerOptions;
}

const MAX_ALLOWED_HOSTS = 100;

function resolveAllowedHosts(given: unknown): string[] {
  if (given === undefined) return [];
  const ok = Array.isArray(given) && given.length <= MAX_ALLOWED_HOSTS && given.every((h) => typeof h === 'string' && /^(\*|\.?[^\s/:@[\]]+)$/.test(h.trim()));
  if (!ok) throw new RangeError(`option allowedHosts must be a list of at most ${MAX_ALLOWED_HOSTS} host names (a name, .domain or *; no port)`);
  return (given as string[]).map((h) => h.trim());
}
