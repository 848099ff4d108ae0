// `GET /system`: the machine at a glance (docs/files.md), for an orchestrator choosing where to run work.
import { promises as fsp } from 'node:fs';
import { sendJson } from './http/respond';
import type { RouteSpec } from './http/route-spec';
import { int, json, num, obj, str } from './http/schema';
import { arch, cpus, freemem, hostname, loadavg, platform, release, totalmem, uptime } from 'node:os';

export interface DiskFigure {
  path: string;
  total: number;
  free: number;
}

/** `disks`: the folders whose file systems are reported (the files roots, else the server's cwd). */
export async function systemInfo(disks: readonly string[]) {
  const disk: DiskFigure[] = [];
  for (const path of disks) {
    const s = await fsp.statfs(path).catch(() => undefined);
    if (s) disk.push({ path, total: s.blocks * s.bsize, free: s.bavail * s.bsize });
  }
  return {
    platform: platform(),
    arch: arch(),
    release: release(),
    hostname: hostname(),
    cpus: cpus().length,
    loadavg: loadavg(),
    memory: { total: totalmem(), free: freemem() },
    disk,
    uptime_s: Math.round(uptime()),
  };
}

export function systemRoutes(disks: readonly string[]): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/system',
      auth: 'key',
      doc: {
        summary: 'The machine: platform, CPUs, load, memory, disks, uptime',
        responses: {
          '200': json(
            obj(
              {
                platform: str,
                arch: str,
                release: str,
                hostname: str,
                cpus: int,
                loadavg: { type: 'array', items: num },
                memory: obj({ total: int, free: int }, ['total', 'free']),
                disk: { type: 'array', items: obj({ path: str, total: int, free: int }, ['path', 'total', 'free']) },
                uptime_s: int,
              },
              ['platform', 'arch', 'release', 'hostname', 'cpus', 'loadavg', 'memory', 'disk', 'uptime_s'],
            ),
          ),
        },
      },
      handler: async (_req, res) => sendJson(res, 200, await systemInfo(disks)),
    },
  ];
}
