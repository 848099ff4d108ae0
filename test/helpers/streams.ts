// Clients for the streaming guard tests (test/core/streams.test.ts, test/terminal/streams.test.ts), and the
// server's RSS as the kernel counts it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Api } from './server';

const CLIENT = join(__dirname, 'stream-client.mjs');

export function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs stream-client.mjs in its own process and returns what it printed. */
export function streamClient(args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, ...args], { maxBuffer: 1 << 20, timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`stream client ${args[0]} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/** An HTTP client that sends its request (`times` over, pipelined) and never reads a byte of the answers. */
export async function neverReader(url: string, path: string, key: string, times = 1): Promise<net.Socket> {
  const port = Number(new URL(url).port);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-API-Key: ${key}\r\n\r\n`.repeat(times));
  return socket;
}

/**
 * Asks `GET /health` (and any other `paths`) every 200 ms until `done` settles; returns the slowest answer,
 * ms. A server that does not answer within 10 s fails the test at once.
 */
export async function slowestAnswer(api: Api, done: Promise<unknown>, paths = ['/health']): Promise<number> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => {});
  let slowest = 0;
  while (!finished) {
    for (const path of paths) {
      const t0 = performance.now();
      const res = await fetch(api.url + path, { headers: { 'X-API-Key': api.key }, signal: AbortSignal.timeout(10_000) }).catch((e) => {
        throw new Error(`${path} did not answer within 10 s (${e})`);
      });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      slowest = Math.max(slowest, performance.now() - t0);
    }
    await sleep(200);
  }
  return slowest;
}
