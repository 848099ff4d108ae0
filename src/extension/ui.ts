// What the person sees: the status bar item, the actions quick pick, and the notifications.
import * as vscode from 'vscode';
import { clock } from './activity';
import type { ServerInfo } from './controller';
import type { ChallengeEvent } from '../server/register';
import type { PendingPermission } from '../server/modes/acp/permissions';

export function createStatusBar(): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem('agentRuntime.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Agent Runtime';
  // The container shows what runs and what waits; its title bar has the actions.
  item.command = 'workbench.view.extension.agentRuntime';
  item.show();
  return item;
}

/** Running jobs and the permission requests waiting on a person (see ActivityFeed.counts). */
export interface ActivityCounts {
  running: number;
  approvals: number;
}

export function renderStatus(item: vscode.StatusBarItem, info: ServerInfo, counts: ActivityCounts = { running: 0, approvals: 0 }): void {
  const busy = `${info.activeJobs} job${info.activeJobs === 1 ? '' : 's'}, ${info.terminals} terminal${info.terminals === 1 ? '' : 's'}`;
  switch (info.state) {
    case 'running': {
      const running = counts.running ? ` $(sync~spin) ${counts.running}` : '';
      const asking = counts.approvals ? ` $(question) ${counts.approvals}` : '';
      item.text = `$(server) Agent Runtime :${info.port}${running}${asking}`;
      item.tooltip = `Serving on ${info.url} (${busy})${counts.approvals ? `\n${counts.approvals} permission request${counts.approvals === 1 ? '' : 's'} waiting for you` : ''}${info.tunnelUrl ? `\nTunnel: ${info.tunnelUrl}` : ''}`;
      item.backgroundColor = counts.approvals ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
      break;
    }
    case 'standby':
      item.text = '$(debug-pause) Agent Runtime';
      item.tooltip = standbyMessage(info);
      item.backgroundColor = undefined;
      break;
    case 'failed':
      item.text = '$(error) Agent Runtime';
      item.tooltip = `The server could not start: ${info.error}`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      break;
    default:
      item.text = info.state === 'stopped' ? '$(circle-slash) Agent Runtime' : `$(sync~spin) Agent Runtime`;
      item.tooltip = `Agent Runtime: ${info.state}`;
      item.backgroundColor = undefined;
  }
}

export function standbyMessage(info: ServerInfo): string {
  const who = info.servedBy ? ` (pid ${info.servedBy})` : '';
  return `Agent Runtime is served by another window${who}; this window takes over when that one closes.`;
}

/** The quick pick behind the status bar item: the palette's commands, in the order a person needs them. */
export async function showActions(info: ServerInfo): Promise<void> {
  const running = info.state === 'running';
  const actions: Array<{ label: string; command: string; show: boolean }> = [
    { label: '$(play) Start Server', command: 'agentRuntime.startServer', show: !running },
    { label: '$(key) Show API Key', command: 'agentRuntime.showApiKey', show: true },
    { label: '$(copy) Copy API Key', command: 'agentRuntime.copyApiKey', show: true },
    { label: '$(globe) Show Tunnel URL', command: 'agentRuntime.showTunnelUrl', show: running },
    { label: '$(cloud-upload) Start Tunnel', command: 'agentRuntime.startTunnel', show: running && !info.tunnelUrl },
    { label: '$(plug) Register with Dashboard', command: 'agentRuntime.registerWithDashboard', show: running },
    { label: '$(terminal) Open Web Terminal', command: 'agentRuntime.openWebTerminal', show: running },
    { label: '$(debug-restart) Restart Server', command: 'agentRuntime.restartServer', show: running },
    { label: '$(debug-stop) Stop Server', command: 'agentRuntime.stopServer', show: running || info.state === 'standby' },
    { label: '$(output) Show Logs', command: 'agentRuntime.showLogs', show: true },
  ];
  const pick = await vscode.window.showQuickPick(
    actions.filter((a) => a.show),
    { title: `Agent Runtime: ${info.state}${info.url ? ` on ${info.url}` : ''}`, placeHolder: 'Choose an action' },
  );
  if (pick) await vscode.commands.executeCommand(pick.command);
}

/** The registration code, shown until the dashboard confirms it (or the registration ends). */
export function showChallenge(c: ChallengeEvent): void {
  void vscode.window
    .showInformationMessage(
      `Agent Runtime: confirm this machine on the dashboard with the code ${c.code}`,
      { detail: `Confirm at ${c.confirm_url}` },
      'Copy Code',
    )
    .then((choice) => {
      if (choice) void vscode.env.clipboard.writeText(c.code);
    });
}

/**
 * An ACP agent asks before acting (policy `ask`): a notification that leads to the job, where Approve and
 * Reject answer it (no modal: a person may be busy elsewhere, and the request waits until its deadline).
 */
export async function announcePermission(jobId: string, request: PendingPermission): Promise<undefined> {
  const what = request.title ?? request.kind ?? 'a tool call';
  const where = request.paths.length ? ` on ${request.paths.join(', ')}` : '';
  const choice = await vscode.window.showWarningMessage(
    `Agent Runtime: an agent (job ${jobId}) asks to run ${what}${where}. Unanswered, it is rejected at ${clock(request.deadlineAt)}.`,
    'Review',
  );
  if (choice) await vscode.commands.executeCommand('agentRuntime.reviewPermission', jobId);
  return undefined;
}
