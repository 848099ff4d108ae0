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
// The queue holds UTF-8 bytes as read; the scan for control bytes reads them four at a time (see
// scanPlain), since it touches every byte of a flood and must cost far less than reading the PTY does.

/**
 * Bytes that may start something other than plain text: C0 controls other than BEL/BS/TAB/LF/CR, DEL, and
 * C2, the lead byte of C1 controls, which UTF-8 writes as C2 80–C2 9F (C2 is always a lead byte, never
 * inside another character). C2 is confirmed by hand (isC1).
 */
const SPECIAL = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) SPECIAL[c] = 1;
for (const plain of [0x07, 0x08, 0x09, 0x0a, 0x0d]) SPECIAL[plain] = 0;
SPECIAL[0x7f] = 1;
SPECIAL[0xc2] = 1;

function isC1(bytes: Uint8Array, at: number): boolean {
  const next = bytes[at + 1];
  return next >= 0x80 && next <= 0x9f;
}

/** Word-at-a-time tests (the "has a byte less than n" / "has a zero byte" bit tricks), exact as yes/no. */
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;
const DEL4 = 0x7f7f7f7f;
const C2_4 = 0xc2c2c2c2 | 0;

/** True when one of the four bytes of `x` is below 0x20, DEL or C2: the word needs a look byte by byte. */
function wordMayHold(x: number): boolean {
  const del = x ^ DEL4;
  const c2 = x ^ C2_4;
  return ((((x - 0x20202020) & ~x) | ((del - ONES) & ~del) | ((c2 - ONES) & ~c2)) & HIGHS) !== 0;
}

/**
 * Finds the first special character from `from` on and returns its offset (-1 if none), pushing `base +`
 * the offset of every line feed before it onto `lineFeeds`. Four bytes are tested per step: plain text
 * has a control byte (CR or LF) only about once a line, so most words are passed over whole.
 */
function scanPlain(bytes: Uint8Array, from: number, lineFeeds: number[], base: number): number {
  const n = bytes.length;
  // Int32Array views need an aligned start: the bytes before it are scanned one by one.
  const aligned = Math.min(n, from + ((4 - ((bytes.byteOffset + from) & 3)) & 3));
  const head = scanBytes(bytes, from, aligned, lineFeeds, base);
  if (head !== -1) return head;
  const words = (n - aligned) >> 2;
  if (words > 0) {
    const view = new Int32Array(bytes.buffer, bytes.byteOffset + aligned, words);
    for (let w = 0; w < words; w++) {
      if (!wordMayHold(view[w])) continue;
      const at = aligned + 4 * w;
      const found = scanBytes(bytes, at, at + 4, lineFeeds, base);
      if (found !== -1) return found;
    }
  }
  return scanBytes(bytes, aligned + 4 * words, n, lineFeeds, base);
}

/** scanPlain's byte-by-byte part, over [from, to). */
function scanBytes(bytes: Uint8Array, from: number, to: number, lineFeeds: number[], base: number): number {
  for (let i = from; i < to; i++) {
    const b = bytes[i];
    if (b === 0x0a) lineFeeds.push(base + i);
    else if (SPECIAL[b] === 1 && (b !== 0xc2 || isC1(bytes, i))) return i;
  }
  return -1;
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
  /** Output bytes (as read, never copied here), and resizes. */
  private items: Array<Uint8Array | QueuedResize> = [];
  /** Bytes queued, the measure of the queue for backpressure. */
  private bytes = 0;
  private readonly tracker = new GroundTracker();
  /** Offset (in queued bytes) where the trailing run of plain ground text starts; -1 when outside one. */
  private runStart = 0;
  /** Offsets of the line feeds in that run, oldest first. */
  private lineFeeds: number[] = [];
  /** Bytes dropped unparsed since the queue was created (for tests and health). */
  skipped = 0;

  /** `keepLines` must be at least scrollback + 2 × rows + 1 of the screen the queue feeds. */
  constructor(private keepLines: number) {}

  get length(): number {
    return this.bytes;
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  /** Queues whole UTF-8 characters (the session's framer never splits one); the caller must not change them. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.scan(bytes, this.bytes);
    this.items.push(bytes);
    this.bytes += bytes.length;
    if (this.lineFeeds.length >= 2 * this.keepLines) this.compact();
  }

  pushResize(size: QueuedResize, keepLines: number): void {
    this.items.push(size);
    this.keepLines = keepLines;
    this.runStart = this.tracker.state === VtState.Ground ? this.bytes : -1;
    this.lineFeeds.length = 0;
  }

  /** Hands over everything queued (output joined between resizes) and starts afresh. */
  take(): QueueItem[] {
    const out: QueueItem[] = [];
    let run: Uint8Array[] = [];
    const flush = () => {
      if (run.length) out.push(run.length === 1 ? run[0] : Buffer.concat(run));
      run = [];
    };
    for (const item of this.items) {
      if (item instanceof Uint8Array) run.push(item);
      else {
        flush();
        out.push(item);
      }
    }
    flush();
    this.items = [];
    this.bytes = 0;
    this.runStart = this.tracker.state === VtState.Ground ? 0 : -1;
    this.lineFeeds.length = 0;
    return out;
  }

  private scan(bytes: Uint8Array, base: number): void {
    let i = 0;
    while (i < bytes.length) {
      if (this.tracker.state === VtState.Ground) {
        const hit = scanPlain(bytes, i, this.lineFeeds, base);
        if (hit === -1) return;
        // A C1 control is two bytes (C2 xx): the tracker takes its code point.
        const c1 = bytes[hit] === 0xc2;
        const after = this.tracker.step(bytes[c1 ? hit + 1 : hit]);
        i = hit + (c1 ? 2 : 1);
        this.runStart = after === VtState.Ground ? base + i : -1;
        this.lineFeeds.length = 0;
      } else {
        const code = codeAt(bytes, i);
        i += code >= 0x80 && code <= 0x9f ? 2 : 1;
        if (this.tracker.step(code) === VtState.Ground) {
          this.runStart = base + i;
          this.lineFeeds.length = 0;
        }
      }
    }
  }

  /**
   * Drops the run's bytes before the last `keepLines` line feeds, keeping everything from a line start on.
   * Whole queued chunks in between are dropped; only the two edge chunks are cut (as views, not copies).
   */
  private compact(): void {
    const n = this.lineFeeds.length;
    const cutEnd = this.lineFeeds[n - this.keepLines - 1] + 1;
    const cutStart = this.runStart;
    if (cutStart < 0 || cutEnd <= cutStart) return;
    // Walk back from the newest chunk; everything from cutStart on is part of the run (no resize in it).
    const chunk = (k: number) => this.items[k] as Uint8Array;
    let last = this.items.length - 1;
    let lastOffset = this.bytes - chunk(last).length;
    while (lastOffset > cutEnd) lastOffset -= chunk(--last).length;
    let first = last;
    let firstOffset = lastOffset;
    while (firstOffset > cutStart) firstOffset -= chunk(--first).length;
    const head = chunk(first).subarray(0, cutStart - firstOffset);
    const tail = chunk(last).subarray(cutEnd - lastOffset);
    const kept = [head, tail].filter((b) => b.length > 0);
    this.items.splice(first, last - first + 1, ...kept);
    const dropped = cutEnd - cutStart;
    this.bytes -= dropped;
    this.skipped += dropped;
    this.keepLastLineFeeds(this.keepLines, dropped);
  }

  /** Keeps the newest `count` line feed offsets, moved back by `dropped`, in place: a flood compacts often. */
  private keepLastLineFeeds(count: number, dropped: number): void {
    const lineFeeds = this.lineFeeds;
    const from = lineFeeds.length - count;
    for (let k = 0; k < count; k++) lineFeeds[k] = lineFeeds[from + k] - dropped;
    lineFeeds.length = count;
  }
}

/**
 * The code the VT parser sees at byte i: a C1 control for C2 80–C2 9F (two bytes), the byte for ASCII,
 * and for any other byte of a multi-byte character a printable stand-in (0xA0), which no state outside
 * ground treats as an end.
 */
function codeAt(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return b;
  if (b === 0xc2 && isC1(bytes, i)) return bytes[i + 1];
  return 0xa0;
}
