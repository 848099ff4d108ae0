// The Agent Runtime activity-bar container (declared in package.json's `contributes.views`): its four
// views, the read-only job documents, and the commands of their rows. Each command takes the row's id
// (what a view's menu passes) and returns what it did, so tests can drive them.
import * as vscode from 'vscode';
import { ActivityFeed, pendingOf, pickOption } from '../activity';
import type { ServerController } from '../controller';
import { attachTerminal } from './attach';
import { JobDocuments, JOB_SCHEME, jobUri } from './documents';
import { JobsTree } from './jobs';
import { ShellsTree, TerminalsTree } from './sessions';

export const VIEW_IDS = {
  jobs: 'agentRuntime.jobs',
  agents: 'agentRuntime.agents',
  terminals: 'agentRuntime.terminals',
  shells: 'agentRuntime.shells',
} as const;

/** The views' data, for the tests in a real VS Code to read what a person sees. */
export interface ViewTrees {
  jobs: JobsTree;
  agents: JobsTree;
  terminals: TerminalsTree;
  shells: ShellsTree;
}

export function registerViews(controller: ServerController, feed: ActivityFeed): { trees: ViewTrees; disposables: vscode.Disposable[] } {
  const jobs = new JobsTree(feed);
  const agents = new JobsTree(feed, 'acp');
  const terminals = new TerminalsTree(feed);
  const shells = new ShellsTree(feed);
  const documents = new JobDocuments(feed);
  const agentsView = vscode.window.createTreeView(VIEW_IDS.agents, { treeDataProvider: agents });
  const reg = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(`agentRuntime.${id}`, fn);
  const server = () => {
    if (!controller.server) throw new Error('the server is not running');
    return controller.server;
  };
  const jobOf = (id: string) => {
    const job = feed.job(id);
    if (!job) throw new Error(`no job ${id} on this server`);
    return job;
  };
  const fail = (err: Error) => void vscode.window.showErrorMessage(`Agent Runtime: ${err.message}`);
  const guarded =
    <A extends unknown[], R>(fn: (...args: A) => R | Promise<R>) =>
    async (...args: A): Promise<R | undefined> => {
      try {
        return await fn(...args);
      } catch (err) {
        fail(err as Error);
        return undefined;
      }
    };
  const open = async (id: string, what: 'output' | 'transcript') => {
    jobOf(id);
    const doc = await vscode.workspace.openTextDocument(jobUri(id, what));
    if (what === 'transcript') await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc.uri.toString();
  };
  const answer = (approve: boolean) =>
    guarded((id: string) => {
      const [request] = pendingOf(jobOf(id).record);
      if (!request) throw new Error(`job ${id} waits on no permission request`);
      const optionId = pickOption(request, approve);
      if (!optionId) throw new Error(`the agent offered no option to ${approve ? 'allow' : 'reject'}`);
      controller.answerPermission(id, request.requestId, optionId);
      return optionId;
    });

  const disposables = [
    jobs,
    agents,
    terminals,
    shells,
    documents,
    agentsView,
    vscode.window.registerTreeDataProvider(VIEW_IDS.jobs, jobs),
    vscode.window.registerTreeDataProvider(VIEW_IDS.terminals, terminals),
    vscode.window.registerTreeDataProvider(VIEW_IDS.shells, shells),
    vscode.workspace.registerTextDocumentContentProvider(JOB_SCHEME, documents),
    reg(
      'openJobOutput',
      guarded((id: string) => open(id, 'output')),
    ),
    reg(
      'openTranscript',
      guarded((id: string) => open(id, 'transcript')),
    ),
    reg(
      'cancelJob',
      guarded((id: string) => {
        server().manager.cancel(jobOf(id));
        return id;
      }),
    ),
    reg(
      'copyJobId',
      guarded(async (id: string) => {
        await vscode.env.clipboard.writeText(id);
        return id;
      }),
    ),
    reg(
      'sendJobInput',
      guarded(async (id: string, given?: string) => {
        const job = jobOf(id);
        const text = given ?? (await vscode.window.showInputBox({ title: `Input for job ${id}`, prompt: "Sent to the job's stdin, with a newline" }));
        if (text === undefined) return undefined;
        const sent = job.running?.write(`${text}\n`, false) ?? { ok: false as const, reason: 'the job is not running' };
        if (!sent.ok) throw new Error(`input not sent: ${sent.reason}`);
        return text;
      }),
    ),
    reg('approvePermission', answer(true)),
    reg('rejectPermission', answer(false)),
    reg(
      'reviewPermission',
      guarded(async (id: string) => {
        await agentsView.reveal(id, { select: true, focus: true });
        return open(id, 'transcript');
      }),
    ),
    reg(
      'attachTerminal',
      guarded(async (id: string) => {
        const s = server();
        return attachTerminal(s.url, s.keys.current(), id).name;
      }),
    ),
    reg(
      'endTerminal',
      guarded(async (id: string) => server().terminal.endSession(id)),
    ),
    reg(
      'endShell',
      guarded(async (key: string) => {
        const runner = server()
          .manager.runnerList()
          .find((r) => r.mode === 'persistent_shell') as { sessions?: { delete(k: string): Promise<boolean> } } | undefined;
        return (await runner?.sessions?.delete(key)) ?? false;
      }),
    ),
  ];
  return { trees: { jobs, agents, terminals, shells }, disposables };
}
