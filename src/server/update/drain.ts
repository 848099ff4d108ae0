// Draining for an update (`POST /update {"drain": true}`): refuse new work at once, wait for the running
// work to end, then hand over to the host's update (the CLI exits 42 for its wrapper).

export interface DrainTarget {
  /** What is still active (the predecessor's 409 body for `POST /update`), or undefined once idle. */
  busy(): Record<string, unknown> | undefined;
  /** Makes new work fail with 503 and this reason (undefined accepts work again). */
  refuse(reason: string | undefined): void;
}

export const DRAIN_REFUSAL = 'the server is draining for an update: it accepts no new work and restarts once the running work ends';

/** How often a drain checks whether the work has ended, ms. */
export const DRAIN_CHECK_MS = 200;

export class Drain {
  private timer: NodeJS.Timeout | undefined;
  private since: number | undefined;

  constructor(
    private readonly target: DrainTarget,
    private readonly checkMs = DRAIN_CHECK_MS,
  ) {}

  get active(): boolean {
    return this.since !== undefined;
  }

  /** Starts draining (once); `whenIdle` runs when nothing is active any more. */
  start(whenIdle: () => void): void {
    if (this.active) return;
    this.since = Date.now();
    this.target.refuse(DRAIN_REFUSAL);
    const check = () => {
      if (this.target.busy()) {
        this.timer = setTimeout(check, this.checkMs);
        this.timer.unref(); // the server's own handles keep the process up; a drain alone must not
        return;
      }
      this.timer = undefined;
      whenIdle();
    };
    check();
  }

  /** For the answer to a repeated `POST /update`: since when, and what is still running. */
  progress(): Record<string, unknown> {
    const busy = this.target.busy();
    const { error: _error, ...waiting } = busy ?? {};
    return { draining_since: this.since === undefined ? null : this.since / 1000, waiting_for: busy ? waiting : null };
  }

  /** Stops waiting (the server is closing anyway). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
