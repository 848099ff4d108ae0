// Named integer options, each with a default and a bound: the one way every module of the project (the
// server's options, the terminal, tunnel, registration, wrapper, and the ACP client's limits) fills in
// defaults and refuses a value out of bounds, naming the option. Shared by src/server and src/acp.

export interface Bound<T = Record<string, unknown>> {
  /** A number, or computed from the options resolved before it (in the table's order). */
  default: number | ((resolved: Partial<T>) => number);
  min: number;
  max: number;
  /** An environment variable that sets the option when it is not given. */
  env?: string;
}

export type Bounds<K extends string, T = Record<string, unknown>> = Record<K, Bound<T>>;

/**
 * Fills defaults from `bounds` (then from `env` where a bound names a variable) and throws a RangeError
 * naming the first option out of bounds, as `${what} ${name}` ("option port", "terminal option maxSessions").
 */
export function resolveBounded<K extends string, T = Record<string, unknown>>(
  bounds: Bounds<K, T>,
  given: Partial<Record<K, unknown>>,
  what = 'option',
  env: NodeJS.ProcessEnv = {},
): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const name of Object.keys(bounds) as K[]) {
    const b = bounds[name];
    const stated = given[name] ?? fromEnv(b, env);
    const value = stated ?? (typeof b.default === 'function' ? b.default(out as unknown as Partial<T>) : b.default);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < b.min || value > b.max) {
      throw new RangeError(`${what} ${name} must be an integer from ${b.min} to ${b.max} (got ${String(stated)})`);
    }
    out[name] = value;
  }
  return out;
}

function fromEnv(bound: Bound<never>, env: NodeJS.ProcessEnv): number | undefined {
  const raw = bound.env ? env[bound.env]?.trim() : undefined;
  if (!raw) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new RangeError(`${bound.env} must be a whole number (got "${raw}")`);
  return Number(raw);
}
