// Command lines run through the platform shell. On POSIX a simple command line is run with `exec`, so the
// program itself (not a shell waiting on it) leads the process group: its exit status is its own, and
// nothing lingers as the shell's orphan once the group is ended.
import { isWindows } from '../common/platform';

/** Shell syntax beyond "program and plain arguments": with any of it the line is left to the shell. */
const SHELL_SYNTAX = /[;&|<>()$`\\\n*?[\]{}~#!]/;

export function execIfSimple(command: string): string {
  const line = command.trim();
  if (isWindows || line === '' || SHELL_SYNTAX.test(line)) return command;
  const first = line.split(/\s+/)[0];
  // `NAME=value cmd` and shell builtins such as `cd` must stay as they are.
  if (first.includes('=') || /^(exec|cd|export|set|unset|ulimit|umask|\.|source|eval)$/.test(first)) return command;
  return `exec ${line}`;
}
