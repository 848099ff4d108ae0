// The extension's settings (`agentRuntime.*`, declared in package.json) and what they mean for the core.
// Free of `vscode` so the mapping is tested against the real core.
import type { ServerOptions } from '../server/config';
import type { TerminalOptions } from '../server/terminal/options';

export type PolicyName = 'workdir' | 'deny' | 'ask';

export interface ExtensionSettings {
  port: number;
  host: string;
  autoStart: boolean;
  terminal: { maxSessions: number; idleTimeoutMinutes: number; maxLifetimeMinutes: number };
  tunnel: { enabled: boolean; id: string };
  register: { url: string; name: string };
  acp: { defaultAgent: string; permissionPolicy: PolicyName };
}

/** Reads a setting by its key below `agentRuntime.`, with the default declared in package.json. */
export type SettingReader = <T>(key: string, fallback: T) => T;

export function readSettings(get: SettingReader): ExtensionSettings {
  return {
    port: get('port', 8585),
    host: get('host', '127.0.0.1'),
    autoStart: get('autoStart', true),
    terminal: {
      maxSessions: get('terminal.maxSessions', 2),
      idleTimeoutMinutes: get('terminal.idleTimeoutMinutes', 15),
      maxLifetimeMinutes: get('terminal.maxLifetimeMinutes', 60),
    },
    tunnel: { enabled: get('tunnel.enabled', false), id: get('tunnel.id', '') },
    register: { url: get('register.url', ''), name: get('register.name', '') },
    acp: { defaultAgent: get('acp.defaultAgent', 'copilot'), permissionPolicy: get('acp.permissionPolicy', 'workdir') },
  };
}

export function serverOptions(s: ExtensionSettings, stateDir: string): Partial<ServerOptions> {
  return { port: s.port, host: s.host, stateDir };
}

export function terminalOptions(s: ExtensionSettings): Partial<TerminalOptions> {
  return {
    maxSessions: s.terminal.maxSessions,
    idleTimeoutMs: s.terminal.idleTimeoutMinutes * 60_000,
    maxLifetimeMs: s.terminal.maxLifetimeMinutes * 60_000,
  };
}

/** Whether a change of settings needs the server restarted (reach changes are applied without one). */
export function needsRestart(before: ExtensionSettings, after: ExtensionSettings): boolean {
  const core = (s: ExtensionSettings) => JSON.stringify([s.port, s.host, s.terminal, s.acp]);
  return core(before) !== core(after);
}

export function reachChanged(before: ExtensionSettings, after: ExtensionSettings): boolean {
  return JSON.stringify([before.tunnel, before.register]) !== JSON.stringify([after.tunnel, after.register]);
}
