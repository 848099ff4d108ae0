// Moving a big file through the files API with flat memory on both sides: shared by the 1 GiB test and
// the benchmark. Streams from and to disk, never holding the file.
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';

/** PUT the file at `from` to `path` on the server; resolves with the answer's status and body. */
export function upload(url: string, key: string, from: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/files/content?path=${encodeURIComponent(path)}`, {
      method: 'PUT',
      headers: { 'X-API-Key': key, 'Content-Length': statSync(from).size, 'Content-Type': 'application/octet-stream' },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    pipeline(createReadStream(from, { highWaterMark: 1 << 20 }), req).catch(reject);
  });
}

/** GET `path` from the server into the file `to`; resolves with the status. */
export function download(url: string, key: string, path: string, to: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/files/content?path=${encodeURIComponent(path)}`, { headers: { 'X-API-Key': key } });
    req.on('response', (res) => {
      pipeline(res, createWriteStream(to, { highWaterMark: 1 << 20 })).then(() => resolve(res.statusCode!), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Samples a process's resident memory (Linux /proc) until stopped; answers the highest seen, bytes. */
export function rssSampler(pid: number, everyMs = 50): { stop(): number; baseline: number } {
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  const baseline = rss();
  let peak = baseline;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rss());
    } catch {
      // the process ended
    }
  }, everyMs);
  return {
    baseline,
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
