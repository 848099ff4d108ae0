// Which `Host` names this server answers to (docs/API.md), on both ports, for plain requests and WebSocket
// upgrades alike. The point is DNS rebinding: a page on evil.example whose name is made to resolve to
// 127.0.0.1 talks to this server as its own origin, and only the `Host` it sends (evil.example) gives it away.
//
// Accepted: no `Host` at all (HTTP/1.0 tools; a browser always sends one), any IP address (a page's origin
// is then that address, not a name an attacker controls), `localhost` and `*.localhost` (browsers resolve
// them to loopback themselves), this machine's host name, the bind address, the tunnel's hosts, and the
// `allowedHosts` option (exact names, `.example.com` for a domain and its subdomains, `*` for any).
// So `--host 0.0.0.0` works for clients that use the machine's IP or its host name; a DNS name of its own
// (an FQDN, a load balancer's) goes in `allowedHosts`. Ports are not compared: rebinding keeps the port.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export interface HostPolicyInit {
  /** The bind address (`--host`). */
  bindHost: string;
  /** Further names, from the option of that name. */
  allowedHosts: readonly string[];
  /** The URLs the tunnel forwards to this server (null until it runs); read on each request. */
  tunnelUrls: () => readonly (string | null | undefined)[];
}

export class HostPolicy {
  private readonly names: Set<string>;
  private readonly domains: string[];
  private readonly any: boolean;

  constructor(private readonly init: HostPolicyInit) {
    const allowed = init.allowedHosts.map(normalize);
    this.any = allowed.includes('*');
    this.domains = allowed.filter((a) => a.startsWith('.'));
    this.names = new Set(['localhost', normalize(hostname()), normalize(init.bindHost), ...allowed.filter((a) => !a.startsWith('.'))]);
  }

  /** Why the request's `Host` is refused, or undefined when it is one of ours. */
  refusal(req: IncomingMessage): string | undefined {
    const header = req.headers.host;
    if (header === undefined || this.any) return undefined;
    const name = hostOf(header);
    if (name !== undefined && this.accepts(name)) return undefined;
    const shown = JSON.stringify(header.slice(0, 100));
    return `host ${shown} is not a name this server answers to (a DNS rebinding page?); if it is one, add it to allowedHosts (--allowed-host)`;
  }

  /**
   * `X-Forwarded-Host`, when the tunnel sent it: the devtunnel host process connects from loopback and
   * names the tunnel's host there. From anyone else, or naming anything else, it is ignored.
   */
  forwardedHost(req: IncomingMessage): string | undefined {
    const value = req.headers['x-forwarded-host'];
    const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0].trim();
    if (!first || !isLoopback(req.socket.remoteAddress)) return undefined;
    const name = hostOf(first);
    return name !== undefined && this.tunnelHosts().has(name) ? first : undefined;
  }

  private accepts(name: string): boolean {
    if (isIP(name) !== 0 || this.names.has(name) || name.endsWith('.localhost')) return true;
    if (this.domains.some((d) => name.endsWith(d) || name === d.slice(1))) return true;
    return this.tunnelHosts().has(name);
  }

  /** The tunnel's host names, in both forms devtunnel uses: `id-8585.region.devtunnels.ms` and `id.region.devtunnels.ms`. */
  private tunnelHosts(): Set<string> {
    const out = new Set<string>();
    for (const url of this.init.tunnelUrls()) {
      if (!url) continue;
      let name: string;
      try {
        name = normalize(new URL(url).hostname);
      } catch {
        continue;
      }
      out.add(name);
      const portInName = /^(.+)-\d+(\..+\.devtunnels\.ms)$/.exec(name);
      if (portInName) out.add(portInName[1] + portInName[2]);
    }
    return out;
  }
}

/** The host name of a `Host` header (`name`, `name:port`, `[v6]:port`), lowercased, without brackets or a final dot. */
function hostOf(header: string): string | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::\d*)?$/.exec(header.trim());
  if (!m) return undefined;
  return normalize(m[1] ?? m[2]);
}

function normalize(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
