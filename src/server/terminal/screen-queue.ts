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
//
// The queue holds UTF-8 bytes, viewed as latin1 strings (one character per byte, made without decoding),
// so offsets are byte offsets and a regular expression finds control bytes at native speed.

/**
 * Candidates for what is not plain text: C0 controls other than BEL/BS/TAB/LF/CR, DEL, and C2, the lead
 * byte of C1 controls, which UTF-8 writes as C2 80–C2 9F (C2 is always a lead byte, never inside another
 * character). A character class alone keeps the scan at native speed; C2 is checked by hand.
 */
const SPECIAL = /[\x00-\x06\x0b\x0c\x0e-\x1f\x7f\xc2]/g;

function isC1(text: string, at: number): boolean {
  const next = text.charCodeAt(at + 1);
  return next >= 0x80 && next <= 0x9f;
}

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

/** Output bytes (to write into the terminal in order) or a resize. */
export type QueueItem = Uint8Array | QueuedResize;

export class ScreenQueue {
  /** Output as latin1 strings (one character per byte), and resizes. */
  private items: Array<string | QueuedResize> = [];
  /** Bytes queued, the measure of the queue for backpressure. */
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

  /** Queues whole UTF-8 characters (the session's framer never splits one). */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
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

  /** Hands over everything queued (output joined between resizes) and starts afresh. */
  take(): QueueItem[] {
    const out: QueueItem[] = [];
    let text: string[] = [];
    const flush = () => {
      if (text.length) out.push(Buffer.from(text.join(''), 'latin1'));
      text = [];
    };
    for (const item of this.items) {
      if (typeof item === 'string') text.push(item);
      else {
        flush();
        out.push(item);
      }
    }
    flush();
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
        let hit = -1;
        SPECIAL.lastIndex = i;
        for (let m = SPECIAL.exec(text); m; m = SPECIAL.exec(text)) {
          if (text.charCodeAt(m.index) !== 0xc2 || isC1(text, m.index)) {
            hit = m.index;
            break;
          }
        }
        const end = hit === -1 ? text.length : hit;
        this.noteLineFeeds(text, i, end, base);
        if (hit === -1) return;
        // A C1 control is two bytes (C2 xx): the tracker takes its code point.
        const c1 = text.charCodeAt(hit) === 0xc2;
        const after = this.tracker.step(text.charCodeAt(c1 ? hit + 1 : hit));
        i = hit + (c1 ? 2 : 1);
        this.runStart = after === VtState.Ground ? base + i : -1;
        this.lineFeeds = [];
      } else {
        const code = this.codeAt(text, i);
        i += code >= 0x80 && code <= 0x9f ? 2 : 1;
        if (this.tracker.step(code) === VtState.Ground) {
          this.runStart = base + i;
          this.lineFeeds = [];
        }
      }
    }
  }

  /**
   * The code the VT parser sees at byte i: a C1 control for C2 80–C2 9F (two bytes), the byte for ASCII,
   * and for any other byte of a multi-byte character a printable stand-in (0xA0), which no state outside
   * ground treats as an end.
   */
  private codeAt(text: string, i: number): number {
    const b = text.charCodeAt(i);
    if (b < 0x80) return b;
    if (b === 0xc2 && isC1(text, i)) return text.charCodeAt(i + 1);
    return 0xa0;
  }

  private noteLineFeeds(text: string, from: number, to: number, base: number): void {
    for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) this.lineFeeds.push(base + at);
  }

  /**
   * Drops the run's text before the last `keepLines` line feeds, keeping everything from a line start on.
   * Whole queued chunks in between are dropped without being copied; only the two edge chunks are sliced.
   */
  private compact(): void {
    const n = this.lineFeeds.length;
    const cutEnd = this.lineFeeds[n - this.keepLines - 1] + 1;
    const cutStart = this.runStart;
    if (cutStart < 0 || cutEnd <= cutStart) return;
    // Walk back from the newest chunk; everything from cutStart on is part of the run (no resize in it).
    let last = this.items.length - 1;
    let lastOffset = this.chars - (this.items[last] as string).length;
    while (lastOffset > cutEnd) lastOffset -= (this.items[--last] as string).length;
    let first = last;
    let firstOffset = lastOffset;
    while (firstOffset > cutStart) firstOffset -= (this.items[--first] as string).length;
    const head = (this.items[first] as string).slice(0, cutStart - firstOffset);
    const tail = (this.items[last] as string).slice(cutEnd - lastOffset);
    const kept = [head, tail].filter((s) => s.length > 0);
    this.items.splice(first, last - first + 1, ...kept);
    const dropped = cutEnd - cutStart;
    this.chars -= dropped;
    this.skipped += dropped;
    this.lineFeeds = this.lineFeeds.slice(n - this.keepLines).map((at) => at - dropped);
  }
}
