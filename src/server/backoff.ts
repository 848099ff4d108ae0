// Exponential backoff shared by everything that retries: the tunnel host, registration, the wrapper.

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly factor = 2,
  ) {}

  /** The delay before the next try: initial, then multiplied by `factor` each time, capped at `maxMs`. */
  next(): number {
    const ms = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    return ms;
  }

  /** Tries since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
