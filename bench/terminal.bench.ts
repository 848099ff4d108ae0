// The terminal against the floor of using node-pty directly, in the same run, with the real CLI as server:
//   1. throughput: 100 MiB of `cat` through PTY → server → WebSocket → client, vs node-pty read directly,
//      and vs the least any server process could do: a bare relay copying the PTY to a TCP socket
//      (five rounds of the three, interleaved; medians)
//   2. keystroke echo latency: input frame to echoed output frame, vs write → echo on node-pty directly
//   3. memory: the server's RSS while a client that reads nothing stays attached to `yes`
import { spawn } from 'node:child_process';
import { chmodSync, createWriteStream, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as pty from '@lydell/node-pty';
import WebSocket from 'ws';
import { spawnCli, tempDir, type CliProcess } from '../test/helpers/server';
import { defaultShell, terminalEnv } from '../src/server/terminal/pty';
import { line, median, ms, rssMiB, summary } from './lib';

const KEY = 'bench-key-0123456789abcdefghijklmnopqrstuvwxyz';
const MIB = 1024 * 1024;
const DATA_BYTES = 100 * MIB;
const ECHO_SAMPLES = 400;
const STALL_SECONDS = 6;
const THROUGHPUT_ROUNDS = 5;

/** Writes the data; returns how many bytes a PTY turns it into (each LF becomes CR LF). */
async function writeData(path: string): Promise<number> {
  // Lines of printable text, different from one another, as a log or a source file would be.
  const out = createWriteStream(path);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-/';
  let written = 0;
  let seed = 12345;
  while (written < DATA_BYTES) {
    let block = '';
    for (let l = 0; l < 1000; l++) {
      let s = '';
      for (let i = 0; i < 99; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        s += alphabet[seed % alphabet.length];
      }
      block += `${s}\n`;
    }
    written += block.length;
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  return written + written / 100;
}

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

// Both measure until the last expected byte arrives: the script then sleeps, because Linux may discard
// what a PTY still holds when its last writer exits, which would make the byte counts differ by chance.

/** Time for node-pty, read directly, to deliver `expected` bytes of the script's output. */
function directRead(file: string, expected: number): Promise<number> {
  return new Promise((resolve) => {
    const t = performance.now();
    const p = pty.spawn(file, [], { cols: 120, rows: 30, env: process.env as Record<string, string> });
    let bytes = 0;
    p.onData((d) => {
      bytes += Buffer.byteLength(d);
      if (bytes < expected) return;
      resolve(performance.now() - t);
      p.kill();
    });
  });
}

/** The same through the server: from the upgrade request until the client holds `expected` bytes of output. */
async function throughServer(cli: CliProcess, expected: number): Promise<number> {
  const t = performance.now();
  const { socket, rest } = await upgrade(Number(new URL(cli.url).port), '/terminal/ws?cols=120&rows=30');
  return new Promise((resolve) => {
    const counter = new OutputCounter();
    const take = (data: Buffer) => {
      counter.push(data);
      if (counter.output < expected) return;
      resolve(performance.now() - t);
      socket.off('data', take);
      socket.end(CLOSE_NORMAL);
    };
    socket.on('data', take);
    if (rest.length) take(rest);
  });
}

/** A client's close frame with code 1000 (masked, as client frames must be; the mask is zero). */
const CLOSE_NORMAL = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

/**
 * The receiving end of the throughput test: it reads frame headers and counts the payload of output
 * frames (text frames not starting with NUL) without assembling messages. The ws library's client copies
 * every frame into a message and checks its UTF-8; that cost shares the two cores with
 * the server and the PTY and was part of the figure (about 5% of it). A browser receives natively.
 */
class OutputCounter {
  output = 0;
  private header: Buffer = Buffer.alloc(0);
  /** Payload bytes of the current frame still to come, and whether they are output. */
  private left = 0;
  private isOutput = false;
  private textStart = false;

  push(data: Buffer): void {
    let i = 0;
    while (i < data.length) {
      if (this.left > 0) i += this.payload(data, i);
      else i += this.readHeader(data, i);
    }
  }

  private payload(data: Buffer, at: number): number {
    if (this.textStart) this.isOutput = data[at] !== 0;
    this.textStart = false;
    const n = Math.min(this.left, data.length - at);
    if (this.isOutput) this.output += n;
    this.left -= n;
    return n;
  }

  /** Takes header bytes from `at`; returns how many it used (a header may be split across reads). */
  private readHeader(data: Buffer, at: number): number {
    const had = this.header.length;
    const h = Buffer.concat([this.header, data.subarray(at, at + 14 - had)]);
    const size = h.length < 2 ? 2 : 2 + ((h[1] & 0x7f) === 126 ? 2 : (h[1] & 0x7f) === 127 ? 8 : 0);
    if (h.length < size) {
      this.header = h;
      return h.length - had;
    }
    const len7 = h[1] & 0x7f;
    this.left = len7 < 126 ? len7 : len7 === 126 ? h.readUInt16BE(2) : Number(h.readBigUInt64BE(2));
    const opcode = h[0] & 0x0f;
    // A text frame starts a message (output, or a NUL-led control message); continuations keep its kind.
    if (opcode === 1) this.textStart = true;
    else if (opcode !== 0) this.isOutput = false;
    this.header = Buffer.alloc(0);
    return size - had;
  }
}

/** The same shell the server runs (bash, with its line editor echoing), driven through node-pty directly. */
async function echoLatencyDirect(): Promise<number[]> {
  const p = pty.spawn(defaultShell(), [], { cols: 80, rows: 24, env: terminalEnv() });
  const samples: number[] = [];
  let waiting: (() => void) | undefined;
  p.onData(() => waiting?.());
  await new Promise((r) => setTimeout(r, 1000)); // let the shell print its prompt
  for (let i = 0; i < ECHO_SAMPLES + 20; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      waiting = r;
      p.write(i % 60 === 59 ? '\r' : 'a');
    });
    if (i >= 20) samples.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 2));
  }
  p.kill();
  return samples;
}

async function echoLatencyServer(cli: CliProcess): Promise<number[]> {
  const ws = new WebSocket(`${cli.url.replace('http', 'ws')}/terminal/ws`, { headers: { 'x-api-key': KEY } });
  let waiting: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    if (data[0] !== 0) waiting?.();
  });
  await new Promise((r) => ws.once('open', r));
  await new Promise((r) => setTimeout(r, 1000)); // let the shell print its prompt
  const samples: number[] = [];
  for (let i = 0; i < ECHO_SAMPLES + 20; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      waiting = r;
      ws.send(JSON.stringify({ type: 'input', data: i % 60 === 59 ? '\r' : 'a' }));
    });
    if (i >= 20) samples.push(performance.now() - t);
    // Output of one keystroke may come in several frames; let them pass before the next.
    await new Promise((r) => setTimeout(r, 2));
  }
  ws.close(1000);
  return samples;
}

/**
 * The least a server could do: another process that copies the PTY to a TCP socket as it reads, with no
 * protocol, no screen state and no flow control. Runs as `terminal.bench.ts relay SCRIPT`.
 */
function relay(file: string): void {
  const server = net.createServer((socket) => {
    const p = pty.spawn(file, [], { cols: 120, rows: 30, env: process.env as Record<string, string>, encoding: null });
    p.onData((d) => socket.write(d as unknown as Buffer));
    socket.on('close', () => {
      p.kill();
      process.exit(0);
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
}

/** Time from connecting to the relay until `expected` bytes arrived. */
async function throughRelay(file: string, expected: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, 'relay', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((r) => child.stdout!.once('data', (d) => r(Number(String(d).trim()))));
  return new Promise((resolve) => {
    const t = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let bytes = 0;
    socket.on('data', (d) => {
      bytes += d.length;
      if (bytes < expected) return;
      resolve(performance.now() - t);
      socket.destroy();
    });
  });
}

/** Opens a WebSocket by hand; resolves with the socket and whatever arrived after the 101 response. */
async function upgrade(port: number, path: string): Promise<{ socket: net.Socket; rest: Buffer }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-API-Key: ${KEY}\r\n\r\n`,
  );
  let head = Buffer.alloc(0);
  while (head.indexOf('\r\n\r\n') === -1) head = Buffer.concat([head, await new Promise<Buffer>((r) => socket.once('data', r))]);
  const end = head.indexOf('\r\n\r\n') + 4;
  if (!head.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head.subarray(0, end)}`);
  return { socket, rest: head.subarray(end) };
}

/** A WebSocket client that completes the handshake and then never reads again. */
async function stalledClient(port: number): Promise<net.Socket> {
  const { socket } = await upgrade(port, '/terminal/ws');
  socket.pause();
  return socket;
}

/**
 * The three ways in turn, round after round: on two shared cores a neighbour's load comes and goes, and
 * a ratio is only fair between figures taken close together. Each round's ratio is its own.
 */
async function throughputRounds(file: string, server: CliProcess, expected: number) {
  const rate = (took: number) => expected / MIB / (took / 1000);
  const rates = { direct: [] as number[], served: [] as number[], relayed: [] as number[] };
  for (let i = 0; i < THROUGHPUT_ROUNDS; i++) {
    rates.direct.push(rate(await directRead(file, expected)));
    rates.served.push(rate(await throughServer(server, expected)));
    rates.relayed.push(rate(await throughRelay(file, expected)));
  }
  return rates;
}

async function main() {
  const dir = tempDir('ar-term-bench-');
  const data = join(dir, 'data.txt');
  const expected = await writeData(data);
  const catScript = script(dir, 'cat-data.sh', `cat '${data}'; exec sleep 60`);
  const yesScript = script(dir, 'yes.sh', 'exec yes');
  const common = ['--state-dir', join(dir, 'state'), '--terminal-port=-1'];
  const servers: CliProcess[] = [];
  try {
    console.log(`throughput: ${DATA_BYTES / MIB} MiB of text through a PTY, ${THROUGHPUT_ROUNDS} rounds (medians)`);
    const catServer = await spawnCli([...common, '--terminal-shell', catScript], {}, KEY);
    servers.push(catServer);
    await directRead(catScript, expected); // warms the page cache
    const rates = await throughputRounds(catScript, catServer, expected);
    const shown = (r: number[], digits = 1) => `rounds ${r.map((x) => x.toFixed(digits)).join(', ')}`;
    line('node-pty read directly', `${median(rates.direct).toFixed(1)} MiB/s`, shown(rates.direct));
    line('PTY → bare TCP relay process → client', `${median(rates.relayed).toFixed(1)} MiB/s`, shown(rates.relayed));
    line('PTY → server → WebSocket → client', `${median(rates.served).toFixed(1)} MiB/s`, shown(rates.served));
    const toDirect = rates.served.map((s, i) => s / rates.direct[i]);
    const toRelay = rates.served.map((s, i) => s / rates.relayed[i]);
    line('ratio to node-pty directly', `${median(toDirect).toFixed(2)}x`, `target ≥ 0.8x; ${shown(toDirect, 2)}`);
    line('ratio to the bare relay', `${median(toRelay).toFixed(2)}x`, `${shown(toRelay, 2)}`);
    await catServer.stop();

    console.log(`keystroke echo latency (${ECHO_SAMPLES} keystrokes)`);
    const shellServer = await spawnCli(common, {}, KEY);
    servers.push(shellServer);
    const d = summary(await echoLatencyDirect());
    const s = summary(await echoLatencyServer(shellServer));
    line('node-pty write → echo   p50 / p99', `${ms(d.p50)} / ${ms(d.p99)}`);
    line('input frame → output frame p50 / p99', `${ms(s.p50)} / ${ms(s.p99)}`, 'target p50 ≤ 2 ms, p99 ≤ 10 ms');
    line('p50 ratio to node-pty directly', `${(s.p50 / d.p50).toFixed(2)}x`);
    await shellServer.stop();

    console.log(`memory: a client that reads nothing, attached to \`yes\` for ${STALL_SECONDS} s`);
    const yesServer = await spawnCli([...common, '--terminal-shell', yesScript, '--terminal-stall-timeout-ms', '600000'], {}, KEY);
    servers.push(yesServer);
    const pid = yesServer.child.pid!;
    const before = rssMiB(pid);
    const port = Number(new URL(yesServer.url).port);
    const stalled = await stalledClient(port);
    let peak = before.rss;
    const until = Date.now() + STALL_SECONDS * 1000;
    while (Date.now() < until) {
      peak = Math.max(peak, rssMiB(pid).rss);
      await new Promise((r) => setTimeout(r, 50));
    }
    const list = (await yesServer.call('GET', '/terminals')).body.terminals[0];
    stalled.destroy();
    line('server RSS before', `${before.rss.toFixed(1)} MiB`);
    line(
      'server RSS peak while stalled',
      `${peak.toFixed(1)} MiB`,
      `growth ${(peak - before.rss).toFixed(1)} MiB; PTY paused: ${list.paused}, unread ${(list.unreadBytes / 1024).toFixed(0)} KiB`,
    );
  } finally {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'relay') relay(process.argv[3]);
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
