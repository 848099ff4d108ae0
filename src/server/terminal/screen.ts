// What a session's terminal shows, kept as terminal state (not raw bytes) so a reconnecting client gets a
// faithful screen: the visible rows, a bounded scrollback, the alternate screen and the modes in use.
// Raw bytes cut at an arbitrary point would replay half an escape sequence. This is the way VS Code
// restores its own terminals: @xterm/headless parses the output and its serialize addon writes it back.
import { Terminal } from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import { ScreenQueue, type QueueItem } from './screen-queue';

/**
 * Output is parsed once the PTY has been quiet this long (or the queue reaches `flushAt`), so a flood is
 * parsed once, at its end, after the queue thinned it out, instead of in batches all along the way.
 * It delays nothing a person sees: clients get output straight from the PTY; a snapshot flushes first.
 */
const QUIET_MS = 100;

export class Screen {
  private readonly term: Terminal;
  private readonly serializer = new SerializeAddon();
  private readonly queue: ScreenQueue;
  private writing = false;
  private timer: NodeJS.Timeout | undefined;
  /** Output arrived since the timer was set: not quiet yet. */
  private wroteSinceTimer = false;
  private idleWaiters: Array<() => void> = [];
  private disposed = false;

  /**
   * `flushAt`: queued bytes above which parsing starts at once instead of after the batch delay.
   * `onParsed`: called after each batch is parsed, so the owner can release backpressure.
   */
  constructor(
    cols: number,
    rows: number,
    private readonly scrollback: number,
    private readonly flushAt: number,
    private readonly onParsed: () => void = () => {},
  ) {
    this.term = new Terminal({ cols, rows, scrollback, allowProposedApi: true, logLevel: 'off' });
    this.term.loadAddon(this.serializer as unknown as Parameters<Terminal['loadAddon']>[0]);
    this.queue = new ScreenQueue(this.keepLines(rows));
  }

  /** Output not yet parsed, in bytes. */
  get queued(): number {
    return this.queue.length;
  }

  /** Output dropped unparsed because it scrolled out of the kept history anyway. */
  get skipped(): number {
    return this.queue.skipped;
  }

  /** Takes whole UTF-8 characters (bytes), or a string. */
  write(output: Uint8Array | string): void {
    if (this.disposed) return;
    this.queue.push(typeof output === 'string' ? Buffer.from(output, 'utf8') : output);
    this.wroteSinceTimer = true;
    this.schedule();
  }

  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.queue.pushResize({ cols, rows }, this.keepLines(rows));
    this.schedule();
  }

  /**
   * Calls `fn` at a moment when everything written so far is parsed, synchronously with that check,
   * so what `fn` serializes and what it attaches afterwards meet without a gap or an overlap.
   */
  whenIdle(fn: () => void): void {
    if (this.disposed) return;
    if (this.queue.empty && !this.writing) return fn();
    this.idleWaiters.push(fn);
    this.schedule(true);
  }

  /** The screen as a string of output that recreates it; call only from `whenIdle`. */
  serialize(): string {
    return this.serializer.serialize({ scrollback: this.scrollback });
  }

  /** The visible rows as plain text (no colours, trailing blanks trimmed); call only from `whenIdle`. */
  text(): string {
    const buffer = this.term.buffer.active;
    const rows: string[] = [];
    for (let y = buffer.viewportY; y < buffer.viewportY + this.term.rows; y++) rows.push(buffer.getLine(y)?.translateToString(true) ?? '');
    while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
    return rows.join('\n');
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.idleWaiters = [];
    this.term.dispose();
  }

  private keepLines(rows: number): number {
    return this.scrollback + 2 * rows + 1;
  }

  private schedule(now = false): void {
    if (this.writing) return;
    if (now || this.idleWaiters.length > 0 || this.queue.length >= this.flushAt) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.parseQueued();
    } else if (!this.timer) {
      this.armQuietTimer();
    }
  }

  /** Parses once a whole QUIET_MS passed without output; one timer per period, not one per write. */
  private armQuietTimer(): void {
    this.wroteSinceTimer = false;
    this.timer = setTimeout(() => {
      if (this.wroteSinceTimer) return this.armQuietTimer();
      this.timer = undefined;
      this.parseQueued();
    }, QUIET_MS);
  }

  private parseQueued(): void {
    if (this.writing || this.disposed) return;
    if (this.queue.empty) return this.settle();
    this.writing = true;
    this.feed(this.queue.take(), 0);
  }

  /** Writes the items in order; xterm parses asynchronously, so a resize waits for the writes before it. */
  private feed(items: QueueItem[], index: number): void {
    if (this.disposed) return;
    while (index < items.length) {
      const item = items[index++];
      if (item instanceof Uint8Array) return this.term.write(item, () => this.feed(items, index));
      this.term.resize(item.cols, item.rows);
    }
    this.writing = false;
    this.onParsed();
    if (this.queue.empty) this.settle();
    else this.schedule();
  }

  private settle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of waiters) fn();
  }
}
