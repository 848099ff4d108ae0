// Validation of what `POST /exec` bodies share across modes; each mode validates its own fields.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BadRequest } from '../errors';
import type { CommonSpec } from './types';

export function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadRequest(`${name} must be a string`);
  return v;
}

export function requiredString(body: Record<string, unknown>, name: string): string {
  const v = optionalString(body, name);
  if (!v) throw new BadRequest(`${name} is required`);
  return v;
}

export function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new BadRequest(`${name} must be a boolean`);
  return v;
}

export function parseCommon(body: Record<string, unknown>, limits: { defaultTimeoutSeconds: number; maxTimeoutSeconds: number }): CommonSpec {
  return { workdir: parseWorkdir(body.workdir), timeoutS: parseTimeout(body.timeout, limits), env: parseEnv(body.env) };
}

function parseWorkdir(v: unknown): string {
  if (v === undefined || v === null || v === '') return process.cwd();
  if (typeof v !== 'string') throw new BadRequest('workdir must be a string');
  const dir = resolve(v);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new BadRequest(`workdir does not exist: ${v}`);
  }
  if (!isDir) throw new BadRequest(`workdir is not a directory: ${v}`);
  return dir;
}

function parseTimeout(v: unknown, limits: { defaultTimeoutSeconds: number; maxTimeoutSeconds: number }): number {
  if (v === undefined || v === null) return limits.defaultTimeoutSeconds;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadRequest('timeout must be a number of seconds');
  if (v <= 0 || v > limits.maxTimeoutSeconds) {
    throw new BadRequest(`timeout must be more than 0 and at most ${limits.maxTimeoutSeconds} seconds (maxTimeoutSeconds)`);
  }
  return v;
}

function parseEnv(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  const bad = () => new BadRequest('env must be an object of string key/value pairs');
  if (typeof v !== 'object' || Array.isArray(v)) throw bad();
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string' || k === '' || k.includes('=') || k.includes('\0') || val.includes('\0')) throw bad();
  }
  return v as Record<string, string>;
}
