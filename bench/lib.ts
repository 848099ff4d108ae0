// Small shared pieces of the benchmarks: percentiles, a real server process, and its memory.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summary(samples: number[]): { p50: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const ms = (n: number) => `${n.toFixed(2)} ms`;

/** Resident memory of a process (Linux), in MiB; and its peak so far. */
export function rssMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

export function line(label: string, value: string, note = ''): void {
  console.log(`  ${label.padEnd(46)} ${value.padStart(14)}  ${note}`);
}

/**
 * JSON over `node:http` with keep-alive: what a lean orchestrator does. (fetch costs about 1 ms more per
 * request on these machines, which would be the harness's cost, not the server's.)
 */
export function jsonClient(url: string, key: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const call = (method: string, path: string, body?: unknown): Promise<any> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string | number> = { 'x-api-key': key };
      if (data !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      const req = request(url + path, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 0) >= 400) reject(new Error(`${method} ${path} -> ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  return { call, close: () => agent.destroy() };
}

const FINAL = ['completed', 'failed', 'timeout'];

/**
 * Submits a job and long-polls until it is final. `stdoutFrom` past any end asks for no output, so the
 * poll wakes only on a change of state (the way to wait for the end without reading the output).
 */
export async function runJob(client: ReturnType<typeof jsonClient>, body: Record<string, unknown>): Promise<any> {
  const { jobId } = await client.call('POST', '/exec', body);
  const skip = 999_999_999_999_999; // the largest offset the API takes (15 digits)
  let job: any;
  do job = await client.call('GET', `/jobs/${jobId}?wait=30&stdoutFrom=${skip}&stderrFrom=${skip}`);
  while (!FINAL.includes(job.status));
  return job;
}
