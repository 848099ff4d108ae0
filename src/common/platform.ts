// Everything that differs between Windows and POSIX lives here, so the differences stay visible.
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';

/** The OS this layer acts for: the real one, or the one a test injected with `usePlatform`. */
let os: NodeJS.Platform = process.platform;
/** How this layer starts processes (injectable with the platform, so a test on Linux sees what Windows would run). */
const launch = { spawn, spawnSync, kill: (pid: number, signal: NodeJS.Signals | 0) => process.kill(pid, signal) };

export let isWindows = os === 'win32';

/**
 * For tests: makes this layer, and every module that reads `isWindows` or calls it, act as `platform`
 * (`win32` on Linux, say), optionally starting processes through `processes` instead of node:child_process.
 * Returns the function that puts the real platform back.
 */
export function usePlatform(platform: NodeJS.Platform, processes: Partial<typeof launch> = {}): () => void {
  const saved = { ...launch, os };
  os = platform;
  isWindows = platform === 'win32';
  Object.assign(launch, processes);
  return () => {
    os = saved.os;
    isWindows = os === 'win32';
    launch.spawn = saved.spawn;
    launch.spawnSync = saved.spawnSync;
    launch.kill = saved.kill;
  };
}

/** Path functions of the platform in force (win32 ones on Windows, whatever the host). */
export function platformPath(): typeof posix {
  return isWindows ? win32 : posix;
}

/**
 * The program and arguments that run `command` through the platform's shell (the predecessor's `shell=True`).
 * On Windows the command line is wrapped in one more pair of quotes, as Node's own `shell: true` does:
 * `cmd /s /c` strips the first and the last quote of what follows, so a command that starts and ends with
 * a quoted word (`"C:\Program Files\x.exe" "arg"`) would otherwise lose both.
 */
export function shellInvocation(command: string): { file: string; args: string[] } {
  if (isWindows) return { file: process.env.ComSpec || 'cmd.exe', args: ['/d', '/s', '/c', `"${command}"`] };
  return { file: '/bin/sh', args: ['-c', command] };
}

/** What tells environment variables apart: their name, or on Windows their name in any case (`Path` is `PATH`). */
export function envKey(name: string, windows = isWindows): string {
  return windows ? name.toUpperCase() : name;
}

/** The per-user state directory (docs/API.md). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const { join } = platformPath();
  if (isWindows) return join(env.LOCALAPPDATA || join(env.USERPROFILE || homedir(), 'AppData', 'Local'), 'agent-runtime');
  if (os === 'darwin') return join(homedir(), 'Library', 'Application Support', 'agent-runtime');
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'agent-runtime');
}

/**
 * Signals a whole process tree. On POSIX every job is spawned `detached`, which makes it the leader of
 * its own process group, so signalling `-pid` reaches every descendant that did not leave the group.
 * Windows has no groups: `taskkill /T` walks the tree (and only knows how to kill).
 */
export function signalTree(pid: number, signal: NodeJS.Signals): boolean {
  if (isWindows) return killWindowsTree(pid);
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * `taskkill /T /F` from System32 by its full path (a job's or the user's PATH may lack System32). Where
 * that fails (Wine's taskkill has no /T; a tree taskkill could end only in part), the process itself is
 * ended at least, so its job or shell ends now rather than when its children do.
 */
function killWindowsTree(pid: number): boolean {
  const taskkill = win32.join(process.env.SystemRoot || process.env.windir || 'C:\\Windows', 'System32', 'taskkill.exe');
  const r = launch.spawnSync(taskkill, ['/PID', String(pid), '/T', '/F'], { windowsHide: true });
  if (r.status === 0) return true;
  try {
    launch.kill(pid, 'SIGKILL'); // TerminateProcess
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group led by `pid` is alive (POSIX). */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // Signal 0 also reaches zombies, which a slow init (as in containers) may leave unreaped for seconds:
  // on Linux, ask /proc whether any member of the group still runs.
  return process.platform === 'linux' ? groupHasLiveMember(pid) : true;
}

/**
 * Whether anything of the tree led by `pid` may still run. POSIX asks its group, which outlives the
 * leader; Windows has no groups, and only the leader's own life tells.
 */
export function treeRunning(pid: number, leaderExited: boolean): boolean {
  return isWindows ? !leaderExited : groupAlive(pid);
}

/**
 * Ends what the leader `pid`, now exited, left running in its group (POSIX). On Windows a tree cannot be
 * found once its leader is gone (taskkill /T walks from the leader), so there is nothing to do.
 */
export function killLeftovers(pid: number): void {
  if (!isWindows) signalTree(pid, 'SIGKILL');
}

function groupHasLiveMember(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3); // state, ppid, pgrp
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

/**
 * Ends a process tree: TERM first, KILL after `graceMs` if anything of it is still alive.
 * Resolves once nothing of the group answers to signal 0 (or after the KILL on Windows).
 */
export async function killTree(pid: number, graceMs = 2000): Promise<void> {
  if (isWindows) {
    signalTree(pid, 'SIGKILL');
    return;
  }
  if (!signalTree(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(20);
    if (!groupAlive(pid)) return;
  }
  signalTree(pid, 'SIGKILL');
  for (let i = 0; i < 50 && groupAlive(pid); i++) await sleep(20);
}

/** Spawn options that put the child in its own process group (POSIX) and hide its window (Windows). */
export const ownGroup: { readonly detached: boolean; readonly windowsHide: true } = {
  get detached() {
    return !isWindows; // read when spread into a spawn's options, so an injected platform counts
  },
  windowsHide: true,
};

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Spawns `command` through the platform shell in its own group; the caller owns the child. */
export function spawnShell(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv; stdio: StdioOptions }): ChildProcess {
  const { file, args } = shellInvocation(command);
  return launch.spawn(file, args, { ...ownGroup, cwd: opts.cwd, env: opts.env, stdio: opts.stdio, windowsVerbatimArguments: isWindows });
}

/**
 * When the process `pid` started (unix seconds), where the OS tells (Linux); used to make sure a pid
 * recorded by an earlier run still names the same process before signalling it.
 */
export function processStartTime(pid: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 of the whole line: starttime, in clock ticks since boot
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return btime + ticks / 100; // USER_HZ is 100 on every Linux Node supports
  } catch {
    return undefined;
  }
}

/**
 * The first of `names` found as an executable file in `firstDirs`, then on PATH (with PATHEXT on Windows).
 * Paths are joined the host's way (the files are this machine's); the PATH separator is the platform's.
 */
export function findExecutable(names: string[], env: NodeJS.ProcessEnv, firstDirs: string[] = []): string | undefined {
  const dirs = [...firstDirs, ...(env.PATH ?? env.Path ?? '').split(platformPath().delimiter).filter(Boolean)];
  const exts = isWindows ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').map((e) => e.toLowerCase())] : [''];
  for (const name of names) {
    for (const dir of dirs) {
      for (const ext of exts) {
        const file = join(dir, name + (name.toLowerCase().endsWith(ext) ? '' : ext));
        if (isExecutableFile(file)) return file;
      }
    }
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What cmd.exe reads as syntax on a command line; each is escaped with `^` to stay a plain character. */
const CMD_META = /[()\][%!^"`<>&|;, *?]/g;

/**
 * Starts `file` with exactly `args`, in its own group, as the platform's users expect a program name to
 * work. On Windows that means PATHEXT: Node spawns only .exe and .com files itself and refuses .cmd and
 * .bat files without a shell, yet `npm`, `npx` and most tools' shims are batch files; so anything that
 * does not resolve to an .exe or .com (in `cwd`, then on PATH) runs through cmd.exe, its arguments escaped.
 */
export function spawnProgram(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdio: StdioOptions }): ChildProcess {
  if (isWindows) {
    const resolved = /[\\/]/.test(file) ? file : findExecutable([file], opts.env, [opts.cwd]);
    if (!resolved || !/\.(exe|com)$/i.test(resolved)) return spawnShell(windowsCommandLine(file, args, resolved), opts);
  }
  return launch.spawn(file, args, { ...ownGroup, cwd: opts.cwd, env: opts.env, stdio: opts.stdio });
}

/**
 * A cmd.exe command line (for `spawnShell`) that runs `file` with exactly `args`. Each argument is quoted
 * as Windows programs parse their command line (backslashes before a quote doubled, the quote escaped),
 * then every cmd metacharacter, quotes included, is escaped with `^`; a batch file (`resolved` names one)
 * reads its arguments through cmd a second time, so for one the escaping is done twice. Not for cmd.exe
 * itself, which reads its own command line in a way of its own.
 */
export function windowsCommandLine(file: string, args: string[], resolved = file): string {
  const batch = /\.(cmd|bat)$/i.test(resolved);
  const escape = (s: string) => s.replace(CMD_META, '^$&');
  const quoted = args.map((arg) => {
    const msvc = `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\*)$/, '$1$1')}"`;
    return batch ? escape(escape(msvc)) : escape(msvc);
  });
  return [escape(file), ...quoted].join(' ');
}
