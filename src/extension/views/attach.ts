// Attach: a VS Code terminal on one of the server's terminal sessions, so a person watches (the screen
// replayed on joining) and types beside the agent that drives it. Closing it leaves the session running.
import * as vscode from 'vscode';
import { joinTerminal, type TerminalClient } from '../terminal-client';

export function attachTerminal(baseUrl: string, key: string, id: string): vscode.Terminal {
  const write = new vscode.EventEmitter<string>();
  const close = new vscode.EventEmitter<void>();
  let client: TerminalClient | undefined;
  const pty: vscode.Pseudoterminal = {
    onDidWrite: write.event,
    onDidClose: close.event,
    open: (size) => {
      client = joinTerminal(baseUrl, key, id, size ? { cols: size.columns, rows: size.rows } : undefined, {
        output: (data) => write.fire(data),
        closed: (why) => write.fire(`\r\n\x1b[2m[Agent Runtime: ${why}]\x1b[0m\r\n`),
      });
    },
    handleInput: (data) => client?.input(data),
    setDimensions: (size) => client?.resize(size.columns, size.rows),
    close: () => {
      client?.close();
      write.dispose();
      close.dispose();
    },
  };
  const terminal = vscode.window.createTerminal({ name: `Agent Runtime ${id.slice(0, 8)}`, pty, iconPath: new vscode.ThemeIcon('remote') });
  terminal.show();
  return terminal;
}
