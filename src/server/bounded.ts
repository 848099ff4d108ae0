// Named integer options with a default and a bound, for the modules that take their own limits
// (terminal, tunnel, registration, wrapper). A value out of bounds is refused with the option's name.

export interface Bound {
  default: number;
  min: number;
  max: number;
}

export type Bounds<K extends string> = Record<K, Bound>;

/** Fills defaults from `bounds` and throws a RangeError naming the first option out of bounds. */
export function resolveBounded<K extends string>(bounds: Bounds<K>, given: Partial<Record<K, number>>, what: string): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const name of Object.keys(bounds) as K[]) {
    const b = bounds[name];
    const value = given[name] ?? b.default;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < b.min || value > b.max) {
      throw new RangeError(`${what} option ${name} must be an integer from ${b.min} to ${b.max} (got ${String(given[name])})`);
    }
    out[name] = value;
  }
  return out;
}
