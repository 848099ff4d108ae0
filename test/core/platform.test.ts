// The Windows side of the platform layer, run on Linux with `win32` injected (usePlatform): what Wine
// cannot stand in for (taskkill /T, PowerShell, ConPTY, the extension's node-pty paths) is checked here as
// the calls Windows would get. test/windows/ runs the rest for real under Wine (npm run test:windows).
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultStateDir,
  envKey,
  isWindows,
  killTree,
  ownGroup,
  shellInvocation,
  signalTree,
  spawnProgram,
  spawnShell,
  usePlatform,
  windowsCommandLine,
} from '../../src/common/platform';
import { jobEnv } from '../../src/server/jobs/manager';
import { ShellCatalog } from '../../src/server/modes/persistent-shell/catalog';
import { dialectFor, quoteFor } from '../../src/server/modes/persistent-shell/dialects';
import { execIfSimple } from '../../src/acp/shell';
import { defaultUpdateCommand } from '../../src/server/update/wrapper';
import { defaultShell } from '../../src/server/terminal/pty';
import { vscodePtyLoader } from '../../src/extension/pty';
import { tempDir } from '../helpers/server';

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

/** Injects win32, recording the processes the layer would start instead of starting them. */
function asWindows(taskkillStatus = 0) {
  const calls: { spawn: unknown[][]; spawnSync: unknown[][]; kill: unknown[][] } = { spawn: [], spawnSync: [], kill: [] };
  restore = usePlatform('win32', {
    spawn: ((...args: unknown[]) => {
      calls.spawn.push(args);
      return { pid: 4242 };
    }) as never,
    spawnSync: ((...args: unknown[]) => {
      calls.spawnSync.push(args);
      return { status: taskkillStatus };
    }) as never,
    kill: (...args) => {
      calls.kill.push(args);
      return true;
    },
  });
  return calls;
}

test('injection: win32 in force, then the real platform back', () => {
  const real = isWindows;
  asWindows();
  assert.equal(isWindows, true);
  assert.equal(ownGroup.detached, false, 'Windows has no process groups to lead');
  assert.equal({ ...ownGroup }.windowsHide, true);
  restore!();
  restore = undefined;
  assert.equal(isWindows, real);
  assert.equal(ownGroup.detached, !real);
});

test('commands run through cmd.exe /d /s /c, the line wrapped in one more pair of quotes, verbatim', () => {
  const calls = asWindows();
  const line = '"C:\\Program Files\\tool.exe" "a b"';
  const { file, args } = shellInvocation(line);
  assert.match(file, /cmd\.exe$/i);
  assert.deepEqual(args, ['/d', '/s', '/c', `"${line}"`]);
  spawnShell(line, { cwd: 'C:\\work', env: {}, stdio: 'pipe' });
  const [spawnedFile, spawnedArgs, opts] = calls.spawn[0] as [string, string[], Record<string, unknown>];
  assert.equal(spawnedFile, file);
  assert.deepEqual(spawnedArgs, args);
  assert.equal(opts.windowsVerbatimArguments, true);
  assert.equal(opts.detached, false);
  assert.equal(opts.windowsHide, true);
});

test('a tree kill is taskkill /T /F from System32; where that fails, the process itself is ended', async () => {
  const calls = asWindows(0);
  assert.equal(signalTree(77, 'SIGTERM'), true);
  const [file, args] = calls.spawnSync[0] as [string, string[]];
  assert.match(file, /\\System32\\taskkill\.exe$/i);
  assert.deepEqual(args, ['/PID', '77', '/T', '/F']);
  assert.equal(calls.kill.length, 0);
  await killTree(78, 5000); // no TERM-then-wait on Windows: taskkill at once
  assert.equal(calls.spawnSync.length, 2);
  restore!();

  const failing = asWindows(1); // Wine's taskkill, which knows no /T
  assert.equal(signalTree(79, 'SIGKILL'), true);
  assert.deepEqual(failing.kill, [[79, 'SIGKILL']]);
});

test("the state dir is %LOCALAPPDATA%\\agent-runtime, else the profile's AppData\\Local", () => {
  asWindows();
  assert.equal(defaultStateDir({ LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }), 'C:\\Users\\ann\\AppData\\Local\\agent-runtime');
  assert.equal(defaultStateDir({ USERPROFILE: 'D:\\Profiles\\ann' }), 'D:\\Profiles\\ann\\AppData\\Local\\agent-runtime');
});

test('environment names in any case: an overlay replaces Path, the key never reaches a job', () => {
  asWindows();
  assert.equal(envKey('Path'), 'PATH');
  const env = jobEnv({ path: 'C:\\only' }, { Path: 'C:\\Windows', Agent_Runtime_Api_Key: 'secret', DEVPILOT_AGENT_API_KEY: 's2', Other: 'x' });
  assert.deepEqual(env, { Other: 'x', path: 'C:\\only' });
});

test('persistent shells on Windows: cmd and PowerShell, found with PATHEXT; no POSIX shells; PowerShell first', () => {
  asWindows();
  const bin = tempDir();
  for (const exe of ['cmd.exe', 'bash.exe', 'powershell.exe']) {
    writeFileSync(join(bin, exe), '');
    chmodSync(join(bin, exe), 0o755);
  }
  const env = { Path: `C:\\nowhere;${bin}`, PATHEXT: '.COM;.EXE;.BAT' };
  const catalog = new ShellCatalog(env);
  assert.deepEqual(catalog.available(), ['powershell', 'cmd']);
  assert.equal(catalog.availability().bash, false, 'bash.exe is there, but its driver needs fd 3');
  assert.equal(catalog.defaultShell(), 'powershell');
  const cmdOnly = tempDir();
  writeFileSync(join(cmdOnly, 'cmd.exe'), '');
  chmodSync(join(cmdOnly, 'cmd.exe'), 0o755);
  assert.equal(new ShellCatalog({ Path: cmdOnly }).defaultShell(), 'cmd');
  restore!();
  restore = undefined;
  const elsewhere = new ShellCatalog({ PATH: cmdOnly });
  assert.equal('cmd' in elsewhere.availability(), false, 'cmd.exe is offered, and listed, on Windows only');
  assert.equal(elsewhere.executable('cmd'), undefined);
});

test("cmd's dialect: a batch per command, CRLF, Windows paths, the command as a subroutine; PowerShell bypasses the policy", () => {
  asWindows();
  const cmd = dialectFor('cmd');
  assert.equal(cmd.separateInput, false);
  assert.deepEqual(cmd.args('C:\\t'), ['/d', '/q', '/k', 'rem']);
  assert.equal(cmd.controlLine('C:/Temp/s', 'ab12'), '"C:\\Temp\\s\\ab12.bat"\r\n');
  const term = Buffer.from('\x1eTERM');
  const files = new Map(cmd.commandFiles('C:/Temp/s', 'ab12', 'cd /d D:\\\necho 100%%', term));
  const bat = String(files.get('ab12.bat'));
  assert.ok(bat.includes('@call :__ar_command\r\n'));
  assert.ok(bat.includes('@type "C:\\Temp\\s\\ab12.end" 1>&2\r\n'));
  assert.ok(bat.endsWith(':__ar_command\r\n@echo off\r\ncd /d D:\\\r\necho 100%%\r\n'), JSON.stringify(bat));
  assert.deepEqual(files.get('ab12.term'), term, 'the terminator, without a newline: the status follows it');
  assert.equal(quoteFor('cmd', 'say "hi"'), '"say ""hi"""');
  assert.ok(dialectFor('powershell').args('x').includes('Bypass'));
});

test('a program with arguments: .exe files spawned directly, batch files and unknown names through cmd.exe, escaped', () => {
  const calls = asWindows();
  const dir = tempDir();
  for (const f of ['tool.exe', 'npm.cmd']) {
    writeFileSync(join(dir, f), '');
    chmodSync(join(dir, f), 0o755);
  }
  const opts = { cwd: 'C:\\work', env: { Path: dir }, stdio: 'pipe' as const };
  spawnProgram('tool', ['a b'], opts);
  assert.deepEqual(calls.spawn[0].slice(0, 2), ['tool', ['a b']]);
  spawnProgram('npm', ['run', 'x&y'], opts);
  const [file, args, o] = calls.spawn[1] as [string, string[], Record<string, unknown>];
  assert.match(file, /cmd\.exe$/i);
  assert.deepEqual(args.slice(0, 3), ['/d', '/s', '/c']);
  assert.equal(args[3], `"${windowsCommandLine('npm', ['run', 'x&y'], join(dir, 'npm.cmd'))}"`);
  assert.equal(o.windowsVerbatimArguments, true);
  spawnProgram('not-installed', [], opts);
  assert.match((calls.spawn[2] as [string])[0], /cmd\.exe$/i, 'cmd says what is missing');

  // Quoted as programs parse it, every cmd metacharacter escaped; twice for a batch file.
  assert.equal(windowsCommandLine('tool', ['a b', 'say "hi"', 'end\\']), 'tool ^"a^ b^" ^"say^ \\^"hi\\^"^" ^"end\\\\^"');
  assert.equal(windowsCommandLine('npm', ['x&y'], 'C:\\n\\npm.cmd'), 'npm ^^^"x^^^&y^^^"');
});

test('ACP terminals: a command line is left to cmd.exe as it is (no `exec`)', () => {
  asWindows();
  assert.equal(execIfSimple('node agent.js'), 'node agent.js');
});

test('self-update: the npm prefix of a global install on Windows (PREFIX\\node_modules\\NAME)', () => {
  asWindows();
  assert.equal(
    defaultUpdateCommand('C:\\Users\\ann\\AppData\\Roaming\\npm\\node_modules\\agent-runtime', 'agent-runtime'),
    'npm install -g agent-runtime@latest --prefix "C:\\Users\\ann\\AppData\\Roaming\\npm"',
  );
  assert.equal(defaultUpdateCommand('C:\\src\\agent-runtime', 'agent-runtime'), undefined);
});

test("terminals on Windows: PowerShell by default; the extension finds VS Code's node-pty under its appRoot", () => {
  asWindows();
  assert.equal(defaultShell(), 'powershell.exe');
  assert.equal(defaultShell('cmd.exe'), 'cmd.exe');
  restore!();
  restore = undefined;
  // VS Code on Windows keeps node-pty in resources\app\node_modules (older builds: node_modules.asar).
  const appRoot = tempDir();
  const pty = join(appRoot, 'node_modules.asar', 'node-pty');
  mkdirSync(pty, { recursive: true });
  writeFileSync(join(pty, 'index.js'), 'exports.spawn = () => "vscode-pty";');
  const logs: string[] = [];
  const load = vscodePtyLoader(appRoot, (m) => logs.push(m)) as () => { spawn(): string };
  assert.equal(load().spawn(), 'vscode-pty');
  assert.match(logs.join('\n'), /node_modules\.asar/);
});
