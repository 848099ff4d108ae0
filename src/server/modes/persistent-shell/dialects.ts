// The shell side of a persistent session: how each kind of shell is started and the driver loop it runs.
// The protocol is described in boundary.ts; in short, for a command with id ID the session writes
// `<dir>/ID.cmd` (the command, verbatim) and `<dir>/ID.end` (its terminator), then sends `ID` on the
// control channel. The driver sources ID.cmd in the shell itself (so cd, variables, functions and aliases
// persist), then reads ID.end and prints the terminator on stderr, and on stdout followed by the status.
import { isWindows } from '../../../common/platform';
import { isPowerShell, type ShellKind } from './catalog';

export interface Dialect {
  /** Arguments that start the shell running its driver loop over files in `dir`. */
  args(dir: string): string[];
  /** Text written to the control channel once, after the start (PowerShell's setup). */
  prelude: string;
  /** The control line that runs command `id`. */
  controlLine(dir: string, id: string): string;
  /** Files to write for command `id` (name → content). */
  commandFiles(dir: string, id: string, command: string, terminator: Buffer): Array<[string, string | Buffer]>;
  /**
   * Whether commands get their own stdin channel (fd 3, moved to their fd 0 by the driver), separate
   * from the control channel. PowerShell reads its control lines from stdin, so it has none.
   */
  separateInput: boolean;
}

/** Single-quoted for POSIX shells. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Single-quoted for fish, where a backslash escapes `'` and itself inside single quotes. */
export function fishQuote(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** Single-quoted for PowerShell, where `'` is doubled. */
export function psQuote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Double-quoted for cmd.exe, where `"` inside is doubled (what most programs' argument parsers read back
 * as one `"`). cmd still expands `%NAME%` inside quotes: cmd has no quoting that stops it.
 */
export function cmdQuote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** A word in `kind`'s syntax that the shell reads back as exactly `s`. */
export function quoteFor(kind: ShellKind, s: string): string {
  if (kind === 'cmd') return cmdQuote(s);
  if (kind === 'fish') return fishQuote(s);
  if (isPowerShell(kind)) return psQuote(s);
  return shQuote(s);
}

export function dialectFor(kind: ShellKind): Dialect {
  if (kind === 'cmd') return cmd;
  if (kind === 'fish') return fish;
  if (isPowerShell(kind)) return powershell;
  return posix(kind);
}

const endFile = (dir: string, id: string) => `${dir}/${id}.end`;

function posixFiles(_dir: string, id: string, command: string, terminator: Buffer): Array<[string, string | Buffer]> {
  // The trailing newline lets `read` succeed on the terminator line.
  return [
    [`${id}.cmd`, `${command}\n`],
    [`${id}.end`, Buffer.concat([terminator, Buffer.from('\n')])],
  ];
}

/**
 * bash, zsh and sh share one loop. Builtins are called through `builtin` (bash, zsh) or `command` (sh) so
 * a user's function named `read` or `printf` cannot capture the driver. The control channel is stdin;
 * the command runs with fd 3 (the session's input pipe) as its stdin and without the control channel.
 * A user's `set -x`/`set -v` is switched off around the driver's own lines and back on for the next
 * command, so the trace never prints the terminator.
 */
function posix(kind: ShellKind): Dialect {
  const b = kind === 'sh' ? 'command' : 'builtin';
  const start = kind === 'bash' ? ['--noprofile', '--norc', '-c'] : kind === 'zsh' ? ['-f', '-c'] : ['-c'];
  const setup = kind === 'bash' ? 'shopt -s expand_aliases\n' : '';
  return {
    separateInput: true,
    prelude: '',
    args: (dir) => [
      ...start,
      `${setup}__ar_d=${shQuote(dir)}
__ar_fl=
while ${b} read -r __ar_id; do
  case $__ar_fl in *x*) set -x ;; esac
  case $__ar_fl in *v*) set -v ;; esac
  { ${b} . "$__ar_d/$__ar_id.cmd"; } <&3 3<&-
  __ar_st=$?
  __ar_fl=$-
  set +xv
  ${b} read -r __ar_end < "$__ar_d/$__ar_id.end"
  ${b} printf '%s' "$__ar_end" >&2
  ${b} printf '%s%s\\n' "$__ar_end" "$__ar_st"
done`,
    ],
    controlLine: (_dir, id) => `${id}\n`,
    commandFiles: posixFiles,
  };
}

/**
 * fish: the same loop in fish syntax. fish's own builtins (`read`) inside a command read the shell's
 * stdin rather than a block's redirection, so a command's `read` builtin waits on the control channel
 * (which is quiet while it runs) rather than the session's input; external programs get the input.
 */
const fish: Dialect = {
  separateInput: true,
  prelude: '',
  args: (dir) => [
    '--no-config',
    '-c',
    `set -g __ar_d ${fishQuote(dir)}
while builtin read -l __ar_id
  begin; builtin source "$__ar_d/$__ar_id.cmd"; end <&3 3<&-
  set -l __ar_st $status
  builtin read -l __ar_end < "$__ar_d/$__ar_id.end"
  builtin printf '%s' $__ar_end >&2
  builtin printf '%s%s\\n' $__ar_end $__ar_st
end`,
  ],
  controlLine: (_dir, id) => `${id}\n`,
  commandFiles: posixFiles,
};

const BOM = '\ufeff';

/**
 * PowerShell (pwsh, Windows PowerShell): reads statements from stdin (`-Command -`), one control line
 * per command that dot-sources a per-command wrapper in the global scope. The wrapper dot-sources the
 * command file (so functions, variables, modules and location persist), writes its errors to stderr and
 * sends its output through Out-Default itself, both before the terminator is written (so neither
 * formatted output nor error records can trail the terminator), and takes the
 * status from a native command's exit code, else 1 when the command raised an error, else 0 (the predecessor's
 * rule). Files carry a BOM so Windows PowerShell 5.1 reads them as UTF-8.
 */
const powershell: Dialect = {
  separateInput: false,
  prelude:
    "$ProgressPreference = 'SilentlyContinue'; function global:prompt { '' }; " +
    '[Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false); $OutputEncoding = [Console]::OutputEncoding\n',
  args: () => ['-NoLogo', '-NoProfile', '-NonInteractive', ...(isWindows ? ['-ExecutionPolicy', 'Bypass'] : []), '-Command', '-'],
  controlLine: (dir, id) => `. ${psQuote(`${dir}/${id}.ps1`)}\n`,
  commandFiles: (dir, id, command, terminator) => [
    [`${id}.cmd.ps1`, `${BOM}${command}\n`],
    [`${id}.end`, Buffer.concat([terminator, Buffer.from('\n')])],
    [`${id}.ps1`, `${BOM}${powershellWrapper(`${dir}/${id}.cmd.ps1`, endFile(dir, id))}`],
  ],
};

function powershellWrapper(cmdPath: string, endPath: string): string {
  return `$global:LASTEXITCODE = 0
$__ar_e0 = if ($global:Error.Count -gt 0) { $global:Error[0] } else { $null }
$__ar_st = 0
try {
    . ${psQuote(cmdPath)} 2>&1 | ForEach-Object {
        if ($_ -is [System.Management.Automation.ErrorRecord]) { [Console]::Error.WriteLine(($_ | Out-String).TrimEnd()) } else { $_ }
    } | Out-Default
    if ($global:LASTEXITCODE -is [int] -and $global:LASTEXITCODE -ne 0) { $__ar_st = $global:LASTEXITCODE }
    elseif ($global:Error.Count -gt 0 -and -not [object]::ReferenceEquals($global:Error[0], $__ar_e0)) { $__ar_st = 1 }
} catch {
    [Console]::Error.WriteLine(($_ | Out-String).TrimEnd())
    $__ar_st = 1
}
[Console]::Out.Flush()
$__ar_end = [System.IO.File]::ReadAllText(${psQuote(endPath)}).TrimEnd([char]10, [char]13)
[Console]::Error.Write($__ar_end); [Console]::Error.Flush()
[Console]::Out.Write($__ar_end + [string]$__ar_st + [char]10); [Console]::Out.Flush()
`;
}

/** A path inside the session's directory in Windows' own spelling (cmd's `call` and `type` want backslashes). */
const winFile = (dir: string, name: string) => `${dir.replace(/\//g, '\\')}\\${name}`;

/**
 * cmd.exe: reads its control lines from stdin (`/q`: echo off, so it prints no prompt and no command;
 * `/k rem`: no banner), one line per command naming that command's batch file. The batch sets the status
 * to 0 (`(call )`), runs the command as its subroutine (`call :label`: a called batch file's `exit /b N`
 * reaches the caller as 1 in Wine's cmd, a subroutine's reaches it whole in both), keeps its ERRORLEVEL,
 * then prints the terminator on stderr and, on stdout, the terminator and the status. No `setlocal`, so
 * `cd` and variables persist. The command runs as batch-file text: `%%i` in `for`, `%%` for a literal
 * percent sign, and a `setlocal` of its own ends with it. Like PowerShell's, its stdin is the control
 * channel: only a nudge can be written to it.
 */
const cmd: Dialect = {
  separateInput: false,
  prelude: '',
  args: () => ['/d', '/q', '/k', 'rem'],
  controlLine: (dir, id) => `"${winFile(dir, `${id}.bat`)}"\r\n`,
  commandFiles: (dir, id, command, terminator) => [
    [`${id}.end`, Buffer.concat([terminator, Buffer.from('\r\n')])],
    [`${id}.term`, terminator],
    [
      `${id}.bat`,
      [
        '@(call )',
        '@call :__ar_command',
        '@set __ar_st=%ERRORLEVEL%',
        `@type "${winFile(dir, `${id}.end`)}" 1>&2`,
        `@type "${winFile(dir, `${id}.term`)}"`,
        '@echo %__ar_st%',
        '@set __ar_st=',
        '@goto :eof',
        ':__ar_command',
        '@echo off',
        command.replace(/\r?\n/g, '\r\n'),
        '',
      ].join('\r\n'),
    ],
  ],
};
