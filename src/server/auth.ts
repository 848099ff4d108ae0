// The API key: where it comes from, where it is kept, and the constant-time check.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';

/** Environment names accepted for the key, first found wins (ours, then the predecessor's two spellings). */
export const API_KEY_ENV_NAMES = ['AGENT_RUNTIME_API_KEY', 'DEVPILOT_AGENT_API_KEY', 'agent_runtime_API_KEY'] as const;

export const KEY_FILE_NAME = 'api_key';

export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}

export function keyFromEnv(env: NodeJS.ProcessEnv = process.env): { key: string; name: string } | undefined {
  for (const name of API_KEY_ENV_NAMES) {
    const key = env[name]?.trim();
    if (key) return { key, name };
  }
  return undefined;
}

export function writeKeyFile(path: string, key: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${key}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600); // an existing umask or file must not widen it
  renameSync(tmp, path);
}

export function readKeyFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What every refusal for a wrong or missing key says, on every route and both ports (docs/API.md). */
export const AUTH_ERROR = 'invalid or missing API key';

/**
 * Whether a request carries the key, in `X-API-Key` or as a bearer token (node joins a repeated header into one, which then
 * fails). Every HTTP path asks this from the headers alone, before it reads a byte of the body.
 */
export function requestHasKey(keys: { check(key: string | undefined): boolean }, headers: IncomingHttpHeaders): boolean {
  return keys.check(presentedKey(headers));
}

/**
 * The key a request presents: `X-API-Key`, else the token of `Authorization: Bearer TOKEN` (what MCP hosts
 * and Prometheus scrapers send); undefined when it presents none.
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['x-api-key'];
  if (typeof value === 'string') return value;
  return /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
}

/** Where the key came from, so the CLI can tell the user where to find it (never the key itself). */
export type KeySource = 'option' | 'env' | 'file' | 'generated';

/**
 * Holds the current key. Comparison hashes both sides first so `timingSafeEqual` sees equal lengths and
 * the time taken says nothing about the key's length or content.
 */
export class KeyStore extends EventEmitter {
  private digest: Buffer;

  constructor(
    private key: string,
    readonly source: KeySource,
    readonly filePath?: string,
  ) {
    super();
    this.digest = sha256(key);
  }

  /**
   * The key in force: an explicit one, else the environment's, else the key file's, else a new one.
   * Env and generated keys are persisted too, so a restart without the env keeps working (as the predecessor did).
   */
  static load(stateDir: string, opts: { key?: string; env?: NodeJS.ProcessEnv } = {}): KeyStore {
    const filePath = join(stateDir, KEY_FILE_NAME);
    if (opts.key) return new KeyStore(opts.key, 'option', filePath);
    const fromEnv = keyFromEnv(opts.env);
    if (fromEnv) {
      if (readKeyFile(filePath) !== fromEnv.key) writeKeyFile(filePath, fromEnv.key);
      return new KeyStore(fromEnv.key, 'env', filePath);
    }
    const stored = readKeyFile(filePath);
    if (stored) return new KeyStore(stored, 'file', filePath);
    const key = generateKey();
    writeKeyFile(filePath, key);
    return new KeyStore(key, 'generated', filePath);
  }

  current(): string {
    return this.key;
  }

  check(candidate: string | undefined | null): boolean {
    if (!candidate) return false;
    return timingSafeEqual(sha256(candidate), this.digest);
  }

  /** Replaces the key (persisted); the old one is refused from now on. */
  set(key: string): void {
    this.key = key;
    this.digest = sha256(key);
    if (this.filePath) writeKeyFile(this.filePath, key);
    this.emit('rotated');
  }

  rotate(): string {
    this.set(generateKey());
    return this.key;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
