// Which shells a persistent session can run, the names clients may use for them (the predecessor's aliases
// plus the POSIX shells), and where each is installed on this machine.
import { findExecutable, isWindows } from '../../../common/platform';

export const SHELL_KINDS = ['bash', 'zsh', 'sh', 'fish', 'pwsh', 'powershell', 'cmd'] as const;
export type ShellKind = (typeof SHELL_KINDS)[number];

/** Names accepted in `shell` (case-insensitive), as the predecessor's plus ours. */
const ALIASES: Record<string, ShellKind> = {
  bash: 'bash',
  'bash.exe': 'bash',
  zsh: 'zsh',
  sh: 'sh',
  fish: 'fish',
  pwsh: 'pwsh',
  'pwsh.exe': 'pwsh',
  powershell: 'powershell',
  'powershell.exe': 'powershell',
  'windows-powershell': 'powershell',
  cmd: 'cmd',
  'cmd.exe': 'cmd',
};

/** Executable names tried in order for each kind (Windows PowerShell only exists as powershell.exe). */
const CANDIDATES: Record<ShellKind, string[]> = {
  bash: ['bash'],
  zsh: ['zsh'],
  sh: ['sh'],
  fish: ['fish'],
  pwsh: ['pwsh'],
  powershell: ['powershell.exe', 'powershell'],
  cmd: ['cmd.exe'],
};

/**
 * What this platform can drive (read per call, so a test can inject the platform). The POSIX shells'
 * driver hands each command its own stdin as fd 3, which Windows builds of bash and friends do not receive
 * from Node; on Windows PowerShell and cmd.exe are offered, cmd.exe nowhere else.
 */
function offered(): readonly ShellKind[] {
  return isWindows ? ['pwsh', 'powershell', 'cmd'] : SHELL_KINDS.filter((k) => k !== 'cmd');
}

/** Preference for `persistent_shell_default_shell`: the predecessor's PowerShell first on Windows (then cmd.exe), bash elsewhere. */
function defaultOrder(): readonly ShellKind[] {
  return isWindows ? ['pwsh', 'powershell', 'cmd'] : ['bash', 'zsh', 'sh', 'fish', 'pwsh'];
}

export function acceptedShellNames(): string[] {
  return Object.keys(ALIASES);
}

/** The kind a client's `shell` names, or undefined when it names none we know. */
export function canonicalShell(name: string): ShellKind | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

export function isPowerShell(kind: ShellKind): boolean {
  return kind === 'pwsh' || kind === 'powershell';
}

/** The shells installed here, resolved once (PATH lookups are cheap but `/health` is polled). */
export class ShellCatalog {
  private readonly resolved = new Map<ShellKind, string | null>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  executable(kind: ShellKind): string | undefined {
    if (!offered().includes(kind)) return undefined;
    if (!this.resolved.has(kind)) this.resolved.set(kind, findExecutable(CANDIDATES[kind], this.env) ?? null);
    return this.resolved.get(kind) ?? undefined;
  }

  /** The seed's `persistent_shell_shells`: every kind with whether it is installed. */
  availability(): Partial<Record<ShellKind, boolean>> {
    // cmd is listed only where it can be offered, so elsewhere the field keeps the shape it always had.
    const kinds = SHELL_KINDS.filter((k) => k !== 'cmd' || isWindows);
    return Object.fromEntries(kinds.map((k) => [k, this.executable(k) !== undefined]));
  }

  available(): ShellKind[] {
    return SHELL_KINDS.filter((k) => this.executable(k) !== undefined);
  }

  defaultShell(): ShellKind | null {
    return defaultOrder().find((k) => this.executable(k) !== undefined) ?? null;
  }
}
