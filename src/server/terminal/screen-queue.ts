// The output waiting to be parsed into a session's screen state, and the one trick that lets the screen keep
// up with a flood: plain lines that are certain to scroll out of the kept history are dropped unparsed.
//
// Why it is safe: text made only of printable characters, CR, LF, TAB, BS and BEL, read while the VT parser
// is in its ground state, changes nothing but cell contents and the cursor position. If at least
// `scrollback + 2 × rows + 1` line feeds of such text follow a stretch of it, every line of the kept buffer
// (screen and scrollback) is written after that stretch, so the screen ends identical with or without it.
// (One pathological case differs: a cursor parked below a scroll region while megabytes of text arrive.)
// Parsing with xterm.js costs about twice what reading the PTY does; without this, a `cat` of a big file
// would run at the parser's speed instead of the PTY's.

/** Characters that are not plain text: C0 controls other than BEL/BS/TAB/LF/CR, DEL, and C1 controls. */
const SPECIAL = /[\x00-\x06\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

const enum VtState {
  Ground,
  Escape,
  EscapeIntermediate,
  Csi,
  Osc,
  /** DCS, SOS, PM, APC: strings that only ST (or CAN/SUB/ESC) ends. */
  String,
}

/**
 * Follows the VT parser's state just far enough to know where it is in its ground state (the state
 * machine of the DEC VT500, which xterm.js implements). Anything unusual keeps it out of ground, which
 * only ever costs a missed chance to skip, never a wrong screen.
 */
class GroundTracker {
  state: VtState = VtState.Ground;

  /** Feeds one special character (or any character outside ground); returns the state after it. */
  step(c: number): VtState {
    if (c === 0x18 || c === 0x1a || c === 0x9c) return (this.state = VtState.Ground);
    if (c === 0x1b) return (this.state = VtState.Escape);
    if (c === 0x9b) return (this.state = VtState.Csi);
    if (c === 0x9d) return (this.state = VtState.Osc);
    if (c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f) return (this.state = VtState.String);
    switch (this.state) {
      case VtState.Ground:
        return this.state;
      case VtState.Escape:
        if (c >= 0x20 && c <= 0x2f) return (this.state = VtState.EscapeIntermediate);
        if (c === 0x5b) return (this.state = VtState.Csi);
        if (c === 0x5d) return (this.state = VtState.Osc);
        if (c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) return (this.state = VtState.String);
        if (c >= 0x30 && c <= 0x7e) return (this.state = VtState.Ground);
        return this.state;
      case VtState.EscapeIntermediate:
        if (c >= 0x30 && c <= 0x7e) return (this.state = VtState.Ground);
        return this.state;
      case VtState.Csi:
        if (c >= 0x40 && c <= 0x7e) return (this.state = VtState.Ground);
        return this.state;
      case VtState.Osc:
        if (c === 0x07) return (this.state = VtState.Ground);
        return this.state;
      case VtState.String:
        return this.state;
    }
  }
}

/** A resize, queued in order with the output around it (xterm applies resizes at once, writes later). */
export interface QueuedResize {
  cols: number;
  rows: number;
}

export type QueueItem = string | QueuedResize;

export class ScreenQueue {
  private items: QueueItem[] = [];
  /** Characters queued (UTF-16 code units), the measure of the queue for backpressure. */
  private chars = 0;
  private readonly tracker = new GroundTracker();
  /** Offset (in queued characters) where the trailing run of plain ground text starts; -1 when outside one. */
  private runStart = 0;
  /** Offsets of the line feeds in that run, oldest first. */
  private lineFeeds: number[] = [];
  /** Characters dropped unparsed since the queue was created (for tests and health). */
  skipped = 0;

  /** `keepLines` must be at least scrollback + 2 × rows + 1 of the screen the queue feeds. */
  constructor(private keepLines: number) {}

  get length(): number {
    return this.chars;
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.scan(text, this.chars);
    this.items.push(text);
    this.chars += text.length;
    if (this.lineFeeds.length >= 2 * this.keepLines) this.compact();
  }

  pushResize(size: QueuedResize, keepLines: number): void {
    this.items.push(size);
    this.keepLines = keepLines;
    this.runStart = this.tracker.state === VtState.Ground ? this.chars : -1;
    this.lineFeeds = [];
  }

  /** Hands over everything queued (strings joined between resizes) and starts afresh. */
  take(): QueueItem[] {
    const out: QueueItem[] = [];
    let text: string[] = [];
    for (const item of this.items) {
      if (typeof item === 'string') text.push(item);
      else {
        if (text.length) out.push(text.join(''));
        text = [];
        out.push(item);
      }
    }
    if (text.length) out.push(text.join(''));
    this.items = [];
    this.chars = 0;
    this.runStart = this.tracker.state === VtState.Ground ? 0 : -1;
    this.lineFeeds = [];
    return out;
  }

  private scan(text: string, base: number): void {
    let i = 0;
    while (i < text.length) {
      if (this.tracker.state === VtState.Ground) {
        SPECIAL.lastIndex = i;
        const hit = SPECIAL.exec(text);
        const end = hit ? hit.index : text.length;
        this.noteLineFeeds(text, i, end, base);
        if (!hit) return;
        const after = this.tracker.step(text.charCodeAt(end));
        i = end + 1;
        this.runStart = after === VtState.Ground ? base + i : -1;
        this.lineFeeds = [];
      } else {
        if (this.tracker.step(text.charCodeAt(i++)) === VtState.Ground) {
          this.runStart = base + i;
          this.lineFeeds = [];
        }
      }
    }
  }

  private noteLineFeeds(text: string, from: number, to: number, base: number): void {
    for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) this.lineFeeds.push(base + at);
  }

  /** Drops the run's text before the last `keepLines` line feeds, keeping everything from a line start on. */
  private compact(): void {
    const n = this.lineFeeds.length;
    const cutEnd = this.lineFeeds[n - this.keepLines - 1] + 1;
    const cutStart = this.runStart;
    if (cutStart < 0 || cutEnd <= cutStart) return;
    // Find the queued string holding cutStart; everything after it is part of the same run (no resize).
    let index = this.items.length - 1;
    let offset = this.chars - (this.items[index] as string).length;
    while (offset > cutStart) {
      index--;
      offset -= (this.items[index] as string).length;
    }
    const joined = (this.items.slice(index) as string[]).join('');
    const kept = joined.slice(0, cutStart - offset) + joined.slice(cutEnd - offset);
    this.items.length = index;
    this.items.push(kept);
    const dropped = cutEnd - cutStart;
    this.chars -= dropped;
    this.skipped += dropped;
    this.lineFeeds = this.lineFeeds.slice(n - this.keepLines).map((at) => at - dropped);
  }
}
