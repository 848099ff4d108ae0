// Where a shell command line reaches, read from its text: the paths it names and the directories it `cd`s
// into, resolved the way the shell would from the directory it runs in. A guard rail against an agent's
// mistakes, not a sandbox: a command can always reach further than its text shows (variables, scripts,
// programs that open what they like).
import { delimiter, dirname, isAbsolute } from 'node:path';
import { expandHome, isWithin, realPath } from './paths';

export interface CommandReach {
  /** The path as resolved (real, absolute). */
  path: string;
  /** How the command reaches it: the word as written, and why it counts. */
  word: string;
  how: 'path' | 'cd' | 'redirect' | 'home';
}

/** Devices every command may use, wherever the workdir is. */
const HARMLESS = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/stdin', '/dev/tty', '/dev/zero', '/dev/random', '/dev/urandom']);
const MAX_WORDS = 4096;
const OPERATORS = new Set([';', '&', '&&', '|', '||', '|&', '(', ')', '{', '}', '!', 'then', 'do', 'else', 'elif', 'if', 'while', 'until', 'time', 'exec']);

interface Word {
  text: string;
  /** A redirect's target (`> f`, `2>>f`, `< f`). */
  redirect: boolean;
  /** Starts a simple command (the program's name, or `cd`). */
  first: boolean;
}

/**
 * The command's words with quotes removed, each marked as a redirect target or a command's first word.
 * Enough of the shell's grammar for a guard rail: quotes, escapes, operators, redirects.
 */
export function shellWords(line: string): Word[] {
  const words: Word[] = [];
  let cur = '';
  let inWord = false;
  let pendingRedirect = false;
  let atStart = true;
  const end = () => {
    if (!inWord) return;
    const text = cur;
    cur = '';
    inWord = false;
    if (!pendingRedirect && OPERATORS.has(text)) {
      atStart = true;
      return;
    }
    // an assignment before the command (`FOO=1 make`) leaves the next word first
    const assignment = atStart && /^[A-Za-z_][A-Za-z0-9_]*=/.test(text);
    words.push({ text: assignment ? text.slice(text.indexOf('=') + 1) : text, redirect: pendingRedirect, first: atStart && !pendingRedirect && !assignment });
    if (!pendingRedirect && !assignment) atStart = false;
    pendingRedirect = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === "'") {
      const close = line.indexOf("'", i + 1);
      const stop = close < 0 ? line.length : close;
      cur += line.slice(i + 1, stop);
      inWord = true;
      i = stop;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length) j++;
        cur += line[j];
      }
      inWord = true;
      i = j;
    } else if (c === ' ' || c === '\t') end();
    else if (c === '\n' || c === ';' || c === '(' || c === ')' || c === '`') {
      end();
      atStart = true;
    } else if (c === '|' || c === '&') {
      end();
      if (line[i + 1] === c || (c === '|' && line[i + 1] === '&')) i++;
      // `>&2`, `2>&1`: a descriptor, not a file
      else if (c === '&' && pendingRedirect) {
        while (i + 1 < line.length && /[0-9-]/.test(line[i + 1])) i++;
        pendingRedirect = false;
        continue;
      }
      atStart = true;
    } else if (c === '>' || c === '<') {
      // a descriptor number just before (`2>`) belongs to the redirect
      if (inWord && /^[0-9]+$/.test(cur)) {
        cur = '';
        inWord = false;
      } else end();
      const heredoc = c === '<' && line[i + 1] === '<';
      if (line[i + 1] === '>' || heredoc || line[i + 1] === '|') i++;
      if (heredoc) {
        // a heredoc's delimiter is no file
        pendingRedirect = false;
        continue;
      }
      if (line[i + 1] === '&') {
        i++;
        while (i + 1 < line.length && /[0-9-]/.test(line[i + 1])) i++;
        continue;
      }
      pendingRedirect = true;
    } else if (c === '#' && !inWord) {
      const nl = line.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
    } else {
      cur += c;
      inWord = true;
    }
  }
  end();
  return words;
}

/**
 * The path a word may name (options give their value: `--out=/x`). Every word is taken as one: a word
 * that names nothing resolves inside the cwd, and a relative name can still be a link leading out.
 */
function pathIn(word: string): string | undefined {
  const value = /^-{1,2}[A-Za-z0-9-]+=(.*)$/.exec(word)?.[1] ?? word;
  if (value === '' || value.startsWith('-') || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  return value.replace(/^\$\{?HOME\}?(?=\/|$)/, '~');
}

function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  const dir = dirname(program);
  return (env.PATH ?? '').split(delimiter).some((p) => p && p === dir);
}

/**
 * What the command line reaches outside `workdir`, if anything. `cwd` is where it starts (absolute, real).
 * A program named by its full path is not counted when it lies in a directory on PATH.
 */
export function commandReachesOutside(line: string, cwd: string, workdir: string, env: NodeJS.ProcessEnv = process.env): CommandReach[] {
  const outside: CommandReach[] = [];
  let here = cwd;
  const words = shellWords(line);
  // each word costs a realpath; a command longer than this is not judged word by word but refused
  if (words.length > MAX_WORDS) {
    const what = `a command of ${words.length} words cannot be judged (more than ${MAX_WORDS})`;
    return [{ path: what, word: what, how: 'path' }];
  }
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.first && w.text === 'cd') {
      const target = words[i + 1] && !words[i + 1].first && !words[i + 1].redirect ? words[++i].text : '~';
      if (target === '-') {
        outside.push({ path: '-', word: 'cd -', how: 'cd' });
        continue;
      }
      here = realPath(expandHome(target.replace(/^\$\{?HOME\}?(?=\/|$)/, '~')), here);
      if (!isWithin(workdir, here)) outside.push({ path: here, word: `cd ${target}`, how: 'cd' });
      continue;
    }
    // a script handed to a shell (`sh -c "…"`, `bash -lc '…'`, `eval "…"`) is read as a command line too
    const prev = words[i - 1]?.text ?? '';
    if (!w.first && (/^-[a-z]*c$/.test(prev) || prev === 'eval') && /\s/.test(w.text)) {
      outside.push(...commandReachesOutside(w.text, here, workdir, env));
      continue;
    }
    const p = pathIn(w.text);
    if (p === undefined) continue;
    const abs = realPath(expandHome(p), here);
    if (HARMLESS.has(abs) || /^\/dev\/fd\/\d+$/.test(abs) || /^\/proc\/self\/fd\/\d+$/.test(abs)) continue;
    // the program itself: a name is looked up on PATH, a full path on PATH is a system program
    if (w.first && (!p.includes('/') || (isAbsolute(p) && onPath(p, env)))) continue;
    if (!isWithin(workdir, abs)) outside.push({ path: abs, word: w.text, how: w.redirect ? 'redirect' : p.startsWith('~') ? 'home' : 'path' });
  }
  return outside;
}

/** Command lines in a tool call's input: `command`/`cmd` as a string, or argv (`["bash", "-lc", "…"]`). */
export function commandLines(rawInput: unknown): string[] {
  if (!rawInput || typeof rawInput !== 'object') return [];
  const lines: string[] = [];
  for (const key of ['command', 'cmd', 'commandLine', 'command_line']) {
    const v = (rawInput as Record<string, unknown>)[key];
    if (typeof v === 'string' && v.trim()) lines.push(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string') && v.length > 0) {
      const argv = v as string[];
      const shellScript = argv.length >= 3 && /(^|\/)(ba|z|da|k)?sh$/.test(argv[0]) && /^-[a-z]*c$/.test(argv[argv.length - 2]);
      lines.push(shellScript ? argv[argv.length - 1] : argv.map((a) => (/[\s"'\\$]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' '));
    }
  }
  return lines;
}
