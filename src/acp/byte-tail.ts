// A byte budget for output we keep in memory (agent text, stderr, terminal output): past its limit the
// oldest bytes go, and what is shown starts at a character boundary. Appends are O(1) amortised.

export class ByteTail {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes dropped from the start so far. */
  dropped = 0;

  constructor(readonly limit: number) {}

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** Bytes held (at most `limit`). */
  get length(): number {
    return this.size;
  }

  append(data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (buf.length === 0) return;
    this.chunks.push(buf);
    this.size += buf.length;
    while (this.size > this.limit) {
      const first = this.chunks[0];
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  text(): string {
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    if (this.chunks.length > 1) this.chunks = [buf];
    let start = 0;
    // After a cut the first bytes may be the tail of a multi-byte character: skip to the next one.
    if (this.dropped > 0) while (start < buf.length && start < 3 && (buf[start] & 0xc0) === 0x80) start++;
    return buf.subarray(start).toString('utf8');
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.dropped = 0;
  }
}
