// Reading what the `devtunnel` CLI prints: the public URLs of `devtunnel host`, the `Token:` line of
// `devtunnel token`, and the expiry inside that token. Pure functions, so they are tested on their own.

/** A forwarded port's public URL in the canonical `https://ID-PORT.REGION.devtunnels.ms` form. */
export interface PortUrl {
  url: string;
  /** The local port it forwards to, when the URL names it. */
  port?: number;
}

const URL_PATTERN = /https:\/\/[^\s,;'"()<>[\]]+/g;
const TUNNEL_HOST = /\.devtunnels\.ms$/i;

/**
 * The tunnel URLs in one line of `devtunnel host` output, skipping the "inspect" ones. The CLI prints
 * a port either in the host name (`https://abc-8585.usw2.devtunnels.ms`) or after it
 * (`https://abc.usw2.devtunnels.ms:8585`); both come back in the first form, the one the predecessor used.
 */
export function tunnelUrlsIn(line: string): PortUrl[] {
  const found: PortUrl[] = [];
  for (const raw of line.match(URL_PATTERN) ?? []) {
    let u: URL;
    try {
      u = new URL(raw.replace(/[.,;:]+$/, ''));
    } catch {
      continue;
    }
    if (!TUNNEL_HOST.test(u.hostname) || u.hostname.includes('-inspect.')) continue;
    const [first, ...rest] = u.hostname.split('.');
    const inName = /-(\d+)$/.exec(first);
    if (inName) {
      found.push({ url: `https://${u.hostname}`, port: Number(inName[1]) });
    } else if (u.port) {
      found.push({ url: `https://${first}-${u.port}.${rest.join('.')}`, port: Number(u.port) });
    } else {
      found.push({ url: `https://${u.hostname}` });
    }
  }
  return found;
}

/**
 * The terminal's public URL given the command port's: the terminal port's own URL when that port is
 * forwarded (the predecessor's convention: swap `-PORT.` for `-TERMINALPORT.`), else the command port's
 * `/terminal`, where the core serves the terminal too.
 */
export function terminalUrlFor(commandUrl: string, commandPort: number, terminalPort: number | undefined): string {
  const marker = `-${commandPort}.`;
  if (terminalPort && terminalPort > 0 && commandUrl.includes(marker)) return commandUrl.replace(marker, `-${terminalPort}.`);
  return `${commandUrl.replace(/\/+$/, '')}/terminal`;
}

/**
 * The public URL of another port of the same tunnel, from the command port's URL (`https://ID-PORT.REGION…`,
 * the form `devtunnel host` prints), or undefined when the URL has no port in its name to swap.
 */
export function portUrlFor(commandUrl: string, commandPort: number, port: number): string | undefined {
  const marker = `-${commandPort}.`;
  return commandUrl.includes(marker) ? commandUrl.replace(marker, `-${port}.`) : undefined;
}

/** The JWT on the `Token:` line of `devtunnel token ID --scopes connect`, if there is one. */
export function tokenFromOutput(stdout: string): string | undefined {
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^\s*Token:\s*(\S+)\s*$/.exec(line);
    if (m && /^[\w-]+\.[\w-]+\.[\w-]*$/.test(m[1])) return m[1];
  }
  return undefined;
}

/** The `exp` claim of a JWT as epoch milliseconds, or undefined when it has none or is not a JWT. */
export function jwtExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The persistent tunnel's name when none is given: after this host and the port, so machines do not
 * fight over one tunnel and a restart finds its own again (the predecessor's `devpilot-HOST-PORT`, which keeps
 * a machine moving from the predecessor on the tunnel, and so the URL, the dashboard already knows).
 * Tunnel IDs take lowercase letters, digits and hyphens only.
 */
export function defaultTunnelId(host: string, port: number): string {
  const clean = host
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return clean ? `devpilot-${clean}-${port}` : `devpilot-${port}`;
}
