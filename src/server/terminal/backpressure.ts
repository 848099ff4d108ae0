// Flow control between one PTY and its consumers (each client, and the screen parser).
// A consumer that falls behind by more than the high-water mark holds the PTY paused; the kernel's PTY
// buffer then fills and the program writing blocks, so a slow reader never grows server memory.

/** Pauses a producer while any holder holds it and resumes it when the last one lets go. */
export class FlowGate {
  private readonly holders = new Set<string>();

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  get paused(): boolean {
    return this.holders.size > 0;
  }

  hold(holder: string): void {
    if (this.holders.has(holder)) return;
    this.holders.add(holder);
    if (this.holders.size === 1) this.pause();
  }

  release(holder: string): void {
    if (!this.holders.delete(holder)) return;
    if (this.holders.size === 0) this.resume();
  }
}

/**
 * Hysteresis between two marks: reports `true` once the amount rises above `high`,
 * and `false` once it falls back to `low` or below; in between it keeps its last answer.
 */
export class WaterMarks {
  private above = false;

  constructor(
    private readonly high: number,
    private readonly low: number,
  ) {}

  get congested(): boolean {
    return this.above;
  }

  /** Returns the new state when it changed, else undefined. */
  update(amount: number): boolean | undefined {
    if (!this.above && amount > this.high) return (this.above = true);
    if (this.above && amount <= this.low) return (this.above = false);
    return undefined;
  }
}
