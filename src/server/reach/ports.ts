// `GET /ports`: the TCP ports listening on this machine, with the process behind each when the OS tells.
// Linux: /proc/net/tcp and tcp6 (state 0A is LISTEN), the socket inodes mapped to pids through
// /proc/PID/fd (only the server's user's processes, unless it runs as root). macOS and the BSDs: `lsof`.
// Windows: `netstat -ano` (pids) and `tasklist` (names).
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';

export interface ListeningPort {
  port: number;
  address: string;
  pid: number | null;
  process: string | null;
}

export interface PortsAnswer {
  ports: ListeningPort[];
  /** Where the list came from: `procfs`, `lsof`, `netstat`, or `none` (with `note` saying why). */
  source: 'procfs' | 'lsof' | 'netstat' | 'none';
  note?: string;
}

export async function listeningPorts(): Promise<PortsAnswer> {
  let answer: PortsAnswer;
  if (process.platform === 'linux') answer = await fromProc();
  else if (process.platform === 'win32') answer = await fromNetstat();
  else answer = await fromLsof();
  answer.ports.sort((a, b) => a.port - b.port || a.address.localeCompare(b.address));
  return answer;
}

async function fromProc(): Promise<PortsAnswer> {
  const byInode = new Map<string, { port: number; address: string }>();
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      const [addrHex, portHex] = f[1].split(':');
      byInode.set(f[9], { port: parseInt(portHex, 16), address: v6 ? ipv6(addrHex) : ipv4(addrHex) });
    }
  }
  const owners = await socketOwners(new Set(byInode.keys()));
  const ports: ListeningPort[] = [];
  for (const [inode, p] of byInode) {
    const o = owners.get(inode);
    ports.push({ ...p, pid: o?.pid ?? null, process: o?.name ?? null });
  }
  return { ports, source: 'procfs' };
}

/** The process holding each socket inode, from the /proc/PID/fd links we may read. */
async function socketOwners(inodes: Set<string>): Promise<Map<string, { pid: number; name: string | null }>> {
  const owners = new Map<string, { pid: number; name: string | null }>();
  if (inodes.size === 0) return owners;
  const pids = (await fsp.readdir('/proc').catch(() => [] as string[])).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await fsp.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const link = await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (!m || !inodes.has(m[1]) || owners.has(m[1])) continue;
        const name = (await fsp.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() || null;
        owners.set(m[1], { pid: Number(pid), name });
      }
    }),
  );
  return owners;
}

function ipv4(hex: string): string {
  const n = parseInt(hex, 16); // little-endian on the machines Linux runs on
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

function ipv6(hex: string): string {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = word.match(/../g)!.reverse().join(''); // each 32-bit word is little-endian
    groups.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  const text = groups.map((g) => parseInt(g, 16).toString(16)).join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text.startsWith('0:0:0:0:0:ffff:')) return `::ffff:${ipv4(hex.slice(24))}`;
  return text.replace(/(^|:)0(:0)+(:|$)/, '::');
}

function run(file: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { windowsHide: true, timeout: 10_000, maxBuffer: 16 << 20 }, (err, stdout) => resolve(err && !stdout ? undefined : String(stdout)));
  });
}

async function fromLsof(): Promise<PortsAnswer> {
  const out = await run('lsof', ['-nP', '-iTCP', '-sTCP:LISTEN', '-F', 'pcn']);
  if (out === undefined) return { ports: [], source: 'none', note: 'lsof is not available: no listening ports can be listed here' };
  const ports: ListeningPort[] = [];
  let pid: number | null = null;
  let name: string | null = null;
  for (const line of out.split('\n')) {
    const tag = line[0];
    const v = line.slice(1);
    if (tag === 'p') pid = Number(v);
    else if (tag === 'c') name = v;
    else if (tag === 'n') {
      const i = v.lastIndexOf(':');
      const address = v.slice(0, i).replace(/^\[|\]$/g, '');
      ports.push({ port: Number(v.slice(i + 1)), address: address === '*' ? '0.0.0.0' : address, pid, process: name });
    }
  }
  return { ports, source: 'lsof' };
}

async function fromNetstat(): Promise<PortsAnswer> {
  const out = await run('netstat', ['-ano', '-p', 'TCP']);
  const out6 = await run('netstat', ['-ano', '-p', 'TCPv6']);
  if (out === undefined) return { ports: [], source: 'none', note: 'netstat is not available: no listening ports can be listed here' };
  const names = new Map<number, string>();
  for (const line of ((await run('tasklist', ['/fo', 'csv', '/nh'])) ?? '').split(/\r?\n/)) {
    const m = /^"([^"]+)","(\d+)"/.exec(line);
    if (m) names.set(Number(m[2]), m[1]);
  }
  const ports: ListeningPort[] = [];
  for (const line of `${out}\n${out6 ?? ''}`.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'TCP' || f[3] !== 'LISTENING') continue;
    const i = f[1].lastIndexOf(':');
    const pid = Number(f[4]);
    ports.push({ port: Number(f[1].slice(i + 1)), address: f[1].slice(0, i).replace(/^\[|\]$/g, ''), pid, process: names.get(pid) ?? null });
  }
  return { ports, source: 'netstat' };
}
