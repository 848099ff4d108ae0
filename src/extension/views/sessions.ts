// The Terminals and Shells views: the server's terminal sessions and persistent shells, redrawn when the
// feed hears one start or end.
import * as vscode from 'vscode';
import { clock, type ActivityFeed } from '../activity';

export class TerminalsTree implements vscode.TreeDataProvider<string>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly listener = () => this.changed.fire();

  constructor(private readonly feed: ActivityFeed) {
    feed.on('terminals', this.listener);
  }

  getChildren(element?: string): string[] {
    return element ? [] : this.feed.terminals().map((t) => t.id);
  }

  getTreeItem(id: string): vscode.TreeItem {
    const t = this.feed.terminals().find((x) => x.id === id);
    const item = new vscode.TreeItem(t ? (t.command ?? t.shell) : id);
    item.id = id;
    if (t) {
      item.description = `${t.clients} watching · since ${clock(t.createdAt)}`;
      item.tooltip = `${id}\npid ${t.pid} · ${t.cols}×${t.rows}\n${t.workdir}`;
    }
    item.iconPath = new vscode.ThemeIcon('terminal');
    item.contextValue = 'terminal';
    item.command = { command: 'agentRuntime.attachTerminal', title: 'Attach', arguments: [id] };
    return item;
  }

  dispose(): void {
    this.feed.off('terminals', this.listener);
    this.changed.dispose();
  }
}

export class ShellsTree implements vscode.TreeDataProvider<string>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly listener = () => this.changed.fire();

  constructor(private readonly feed: ActivityFeed) {
    feed.on('shells', this.listener);
  }

  getChildren(element?: string): string[] {
    return element ? [] : this.feed.shells().map((s) => s.sessionKey);
  }

  getTreeItem(key: string): vscode.TreeItem {
    const s = this.feed.shells().find((x) => x.sessionKey === key);
    const item = new vscode.TreeItem(key);
    item.id = key;
    if (s) {
      item.description = `${s.shell} · ${s.workdir}`;
      item.tooltip = `${key} (${s.shell}, ${s.status})\ncwd: ${s.workdir}\n${s.commandsRun} commands run${s.queuedCommands ? `, ${s.queuedCommands} queued` : ''}`;
      item.iconPath = new vscode.ThemeIcon(s.activeCommand ? 'sync~spin' : 'console');
    }
    item.contextValue = 'shell';
    return item;
  }

  dispose(): void {
    this.feed.off('shells', this.listener);
    this.changed.dispose();
  }
}
