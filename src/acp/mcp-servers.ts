// MCP servers lent to an agent for its session (`mcpServers` of `session/new` and `session/load`), in ACP's
// own shapes: stdio `{name, command, args, env}`, and `{type: "http" | "sse", name, url, headers}`.
// Checked here once, so a bad shape is refused before any agent starts, and checked against what the agent
// says it can take (`agentCapabilities.mcpCapabilities`) before a session is opened with them.
import type { McpCapabilities, McpServer } from './protocol';

/** A bad `mcpServers` value; the message names the field (`mcpServers[1].url …`). */
export class McpServersError extends Error {}

/** The servers as ACP sends them, built from what the caller gave (unknown fields dropped). */
export function parseMcpServers(value: unknown): McpServer[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new McpServersError('mcpServers must be an array of MCP servers (ACP’s McpServer: stdio, http or sse)');
  const names = new Set<string>();
  return value.map((item, i) => {
    const at = `mcpServers[${i}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new McpServersError(`${at} must be an object`);
    const s = item as Record<string, unknown>;
    const name = text(s.name, `${at}.name`);
    if (names.has(name)) throw new McpServersError(`${at}.name "${name}" is used twice: each server needs its own name`);
    names.add(name);
    const type = s.type ?? 'stdio';
    if (type === 'http' || type === 'sse') {
      const url = text(s.url, `${at}.url`);
      if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw new McpServersError(`${at}.url must be an http:// or https:// URL`);
      return { type, name, url, headers: pairs(s.headers, `${at}.headers`) };
    }
    if (type === 'stdio') {
      const args = s.args ?? [];
      if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new McpServersError(`${at}.args must be an array of strings`);
      return { name, command: text(s.command, `${at}.command`), args, env: pairs(s.env, `${at}.env`) };
    }
    throw new McpServersError(`${at}.type must be "http", "sse" or "stdio" (or absent for stdio)`);
  });
}

/**
 * Why the agent cannot take these servers (an http or sse one it did not declare it supports), or
 * undefined when it can: every agent takes stdio ones (ACP's baseline).
 */
export function unsupportedMcpServers(servers: readonly McpServer[], caps: McpCapabilities | undefined): string | undefined {
  for (const transport of ['http', 'sse'] as const) {
    const refused = servers.filter((s) => 'type' in s && s.type === transport).map((s) => s.name);
    if (refused.length > 0 && caps?.[transport] !== true) {
      return `the agent does not take MCP servers over ${transport} (its agentCapabilities.mcpCapabilities.${transport} is not true), so ${refused.join(', ')} cannot be lent to it; give it a stdio server instead, or use an agent that takes ${transport}`;
    }
  }
  return undefined;
}

/** What a job record keeps of the servers: names and transports, never headers or env (they carry keys). */
export function describeMcpServers(servers: readonly McpServer[]): { name: string; type: string }[] {
  return servers.map((s) => ({ name: s.name, type: 'type' in s ? s.type : 'stdio' }));
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new McpServersError(`${what} must be a non-empty string`);
  if (v.includes('\0')) throw new McpServersError(`${what} must not contain a NUL byte`);
  return v;
}

/** `[{name, value}]`, as ACP's headers and env are; absent is none. */
function pairs(v: unknown, what: string): { name: string; value: string }[] {
  if (v === undefined || v === null) return [];
  const bad = () => new McpServersError(`${what} must be an array of {"name": string, "value": string}`);
  if (!Array.isArray(v)) throw bad();
  return v.map((p) => {
    if (!p || typeof p !== 'object' || typeof p.name !== 'string' || p.name === '' || typeof p.value !== 'string') throw bad();
    return { name: p.name as string, value: p.value as string };
  });
}
