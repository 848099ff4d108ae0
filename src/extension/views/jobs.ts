// The Jobs and Agents views: one row per job (the Agents view: ACP jobs only), refreshed from the feed's
// coalesced job events; a change of a running job redraws only its row.
import * as vscode from 'vscode';
import { jobRow, type ActivityFeed } from '../activity';
import type { ExecMode } from '../../server/jobs/types';

export class JobsTree implements vscode.TreeDataProvider<string>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<string | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly listener: (ids: string[] | undefined) => void;
  /** Ids shown now, so a change of a job not in this view redraws nothing. */
  private shown = new Set<string>();

  constructor(
    private readonly feed: ActivityFeed,
    private readonly mode?: ExecMode,
  ) {
    this.listener = (ids) => {
      if (!ids) return this.changed.fire();
      for (const id of ids) if (this.shown.has(id)) this.changed.fire(id);
    };
    feed.on('jobs', this.listener);
  }

  getChildren(element?: string): string[] {
    if (element) return [];
    const ids = this.feed.jobs(this.mode).map((j) => j.id);
    this.shown = new Set(ids);
    return ids;
  }

  getParent(): undefined {
    return undefined;
  }

  getTreeItem(id: string): vscode.TreeItem {
    const job = this.feed.job(id);
    if (!job) return new vscode.TreeItem(id);
    const row = jobRow(job.record);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.icon.id, row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined);
    item.contextValue = `${row.contextValue}${job.record.mode === 'acp' ? '.acp' : ''}`;
    item.command =
      job.record.mode === 'acp'
        ? { command: 'agentRuntime.openTranscript', title: 'Open Transcript', arguments: [id] }
        : { command: 'agentRuntime.openJobOutput', title: 'Open Output', arguments: [id] };
    return item;
  }

  dispose(): void {
    this.feed.off('jobs', this.listener);
    this.changed.dispose();
  }
}
