// Finds where one command's output ends in a shell's stdout or stderr.
//
// How a command's end is told apart from anything the command itself prints (the whole design, in one
// place; dialects.ts has the shell side):
//
// - Node picks a fresh random terminator for every command: the byte 0x1E (ASCII record separator) and
//   32 random hex digits. It is written to a private per-command file (`<id>.end`, in a 0700 directory of
//   the session) and nowhere else.
// - The shell's driver loop runs the command first, and only after the command has returned reads the
//   terminator from that file, then prints it on stderr, and on stdout followed by the exit status and a
//   newline. While the command runs, the terminator is in no variable, argument or environment of the
//   shell, so not even a command that dumps every shell variable (`set`, `Get-Variable`) can print it;
//   terminators of earlier commands are never looked for again.
// - So the first occurrence of the terminator in a stream is the end of that command's output there,
//   whatever the output contains (earlier terminators, lookalike text, binary, invalid UTF-8). Everything
//   before it is passed on as it arrives, except a trailing piece that could be the terminator's start
//   (held back until the next bytes rule it in or out; the 0x1E first byte keeps that rare).
// - Commands reach the shell as files too (`<id>.cmd`, sourced by the driver), so their text needs no
//   quoting and cannot collide with the control channel, which carries only the random command ids.
//
// What remains possible only on purpose: a command that reads the session's private directory, or
// redirects the shell's own stdout/stderr for good (`exec >file`), can confuse its own session; the
// job's timeout still ends it and the session is recreated.
import { randomBytes } from 'node:crypto';

const RECORD_SEPARATOR = 0x1e;

export function newTerminator(): Buffer {
  return Buffer.concat([Buffer.from([RECORD_SEPARATOR]), Buffer.from(randomBytes(16).toString('hex'), 'ascii')]);
}

/**
 * Scans one stream for a terminator, passing the bytes before it to `emit` as they come. After the
 * terminator it collects the rest of the line (the exit status on stdout).
 */
export class TerminatorScanner {
  private held: Buffer = Buffer.alloc(0);
  private found = false;
  private tail = '';
  /** Set once the terminator and the line after it (up to `\n`) have been seen. */
  done = false;

  constructor(
    private readonly terminator: Buffer,
    private readonly emit: (chunk: Buffer) => void,
    /** Whether a line follows the terminator (stdout carries the exit status); stderr has none. */
    private readonly withLine: boolean,
  ) {}

  /** The text between the terminator and the newline (the exit status), once `done`. */
  get line(): string {
    return this.tail;
  }

  /** Feeds bytes; returns the bytes after the end of this command's part (output of nobody's command). */
  push(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    if (this.found) return this.collectLine(chunk);
    const buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const at = buf.indexOf(this.terminator);
    if (at >= 0) {
      if (at > 0) this.emit(buf.subarray(0, at));
      this.held = Buffer.alloc(0);
      this.found = true;
      const rest = buf.subarray(at + this.terminator.length);
      if (!this.withLine) {
        this.done = true;
        return rest;
      }
      return this.collectLine(rest);
    }
    const keep = partialMatchLength(buf, this.terminator);
    if (buf.length > keep) this.emit(buf.subarray(0, buf.length - keep));
    this.held = Buffer.from(buf.subarray(buf.length - keep)); // a copy: `buf` may be reused by the stream
    return Buffer.alloc(0);
  }

  /** The stream ended (the shell died): whatever was held back was output after all. */
  flush(): void {
    if (this.held.length > 0) this.emit(this.held);
    this.held = Buffer.alloc(0);
  }

  private collectLine(chunk: Buffer): Buffer {
    const nl = chunk.indexOf(0x0a);
    if (nl < 0) {
      this.tail += chunk.toString('latin1');
      if (this.tail.length > 64) this.done = true; // not a status line: stop waiting for one
      return Buffer.alloc(0);
    }
    this.tail += chunk.subarray(0, nl).toString('latin1');
    this.done = true;
    return chunk.subarray(nl + 1);
  }
}

/** The length of the longest end of `buf` that is a proper start of `term`. */
export function partialMatchLength(buf: Buffer, term: Buffer): number {
  for (let k = Math.min(buf.length, term.length - 1); k > 0; k--) {
    if (buf[buf.length - k] !== term[0]) continue;
    if (buf.subarray(buf.length - k).equals(term.subarray(0, k))) return k;
  }
  return 0;
}
