// Who may open a terminal: decided on the HTTP upgrade request, before any WebSocket exists.
// A terminal is a shell on this machine, so every check applies: the request names one of this server's
// hosts (no DNS rebinding), the caller proves it holds the key (`X-API-Key` or a bearer token, or a one-time ticket bought
// with it), and a browser page must come from this server's own origin (or one allowed by option), so a
// page elsewhere can never open a shell, even with a stolen ticket.
import type { IncomingMessage } from 'node:http';
import { AUTH_ERROR, presentedKey } from '../auth';
import type { HostPolicy } from '../http/hosts';
import type { TicketStore } from './tickets';

export type AccessDecision = { ok: true; via: 'key' | 'ticket' } | { ok: false; status: 401 | 403; error: string };

export interface AccessPolicy {
  checkKey: (key: string | undefined) => boolean;
  tickets: TicketStore;
  /** Extra browser origins allowed to connect (e.g. a dashboard, the tunnel's URLs; ws/wss count as http/https). */
  allowedOrigins: () => readonly string[];
  /** The names this server answers to, and whom to believe about `X-Forwarded-Host`. */
  hosts: HostPolicy;
}

export function decideUpgrade(req: IncomingMessage, query: URLSearchParams, policy: AccessPolicy): AccessDecision {
  const wrongHost = policy.hosts.refusal(req);
  if (wrongHost !== undefined) return { ok: false, status: 403, error: wrongHost };
  const origin = header(req, 'origin');
  if (origin !== undefined && !originAllowed(origin, req, policy.allowedOrigins(), policy.hosts.forwardedHost(req))) {
    return { ok: false, status: 403, error: `origin ${origin} may not open terminals on this server` };
  }
  const key = presentedKey(req.headers);
  if (key !== undefined) {
    return policy.checkKey(key) ? { ok: true, via: 'key' } : { ok: false, status: 401, error: AUTH_ERROR };
  }
  const ticket = query.get('ticket');
  if (ticket && policy.tickets.consume(ticket)) return { ok: true, via: 'ticket' };
  if (ticket) return { ok: false, status: 401, error: 'invalid, used or expired ticket' };
  return { ok: false, status: 401, error: AUTH_ERROR };
}

/**
 * Same origin means the page's host (and port) is the one the request was sent to: the `Host` header, or
 * the tunnel's `X-Forwarded-Host` (given only when the tunnel sent it: see HostPolicy.forwardedHost).
 * Browsers cannot set either on a WebSocket, so a foreign page cannot pass this check; non-browser clients
 * send no `Origin` and are judged by the key alone.
 */
export function originAllowed(origin: string, req: IncomingMessage, allowed: readonly string[], forwardedHost?: string): boolean {
  const parsed = parseOrigin(origin);
  if (!parsed) return false;
  if (allowed.some((a) => parseOrigin(a.replace(/^ws(s?):/i, 'http$1:'))?.origin === parsed.origin)) return true;
  return [header(req, 'host'), forwardedHost].some((h) => h !== undefined && sameHost(h.trim(), parsed));
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** A Host header names the origin's host when hostnames match and so do ports (a missing one is the default). */
function sameHost(hostHeader: string, origin: URL): boolean {
  let host: URL;
  try {
    host = new URL(`http://${hostHeader}`);
  } catch {
    return false;
  }
  if (host.hostname !== origin.hostname) return false;
  const originPort = origin.port || DEFAULT_PORT[origin.protocol];
  // URL drops ":80" from an http URL, so a Host of "h:80" reads as no port here.
  const hostPort = host.port || (/:80$/.test(hostHeader) ? '80' : '');
  // No port in Host: the request came to a default port, which is the origin's only if it has one too.
  return hostPort === '' ? originPort === '80' || originPort === '443' : hostPort === originPort;
}

function parseOrigin(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
