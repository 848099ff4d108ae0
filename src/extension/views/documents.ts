// Read-only editors of a job: its output (`…/ID/output.log`) and an ACP job's transcript
// (`…/ID/transcript.md`), on the `agent-runtime-job` scheme. While one is open and its job runs, the
// job's own change signal redraws it (coalesced), so the editor follows the job live.
import * as vscode from 'vscode';
import { outputText, transcript, type ActivityFeed } from '../activity';

export const JOB_SCHEME = 'agent-runtime-job';
/** Redraws of a busy job's open document, at most one per this many ms. */
const REDRAW_MS = 200;

export function jobUri(id: string, what: 'output' | 'transcript'): vscode.Uri {
  return vscode.Uri.from({ scheme: JOB_SCHEME, path: `/${id}/${what === 'output' ? 'output.log' : 'transcript.md'}` });
}

export class JobDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** Open documents of unfinished jobs, with the job's unsubscribe. */
  private readonly following = new Map<string, () => void>();
  private readonly closing: vscode.Disposable;

  constructor(private readonly feed: ActivityFeed) {
    this.closing = vscode.workspace.onDidCloseTextDocument((d) => {
      if (d.uri.scheme === JOB_SCHEME) this.unfollow(d.uri.toString());
    });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const [, id, file] = uri.path.split('/');
    const job = id ? this.feed.job(id) : undefined;
    if (!job) return `No job ${id} on this server (it was pruned, or the server is not running).\n`;
    if (!job.isFinal()) this.follow(uri, id!);
    else this.unfollow(uri.toString());
    return file === 'transcript.md' ? transcript(job.record, job.events.latest()) : outputText(job);
  }

  private follow(uri: vscode.Uri, id: string): void {
    const key = uri.toString();
    if (this.following.has(key)) return;
    const job = this.feed.job(id);
    if (!job) return;
    let timer: NodeJS.Timeout | undefined;
    const off = job.subscribe(() => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        this.changed.fire(uri);
      }, REDRAW_MS);
    });
    this.following.set(key, () => {
      clearTimeout(timer);
      off();
    });
  }

  private unfollow(key: string): void {
    this.following.get(key)?.();
    this.following.delete(key);
  }

  dispose(): void {
    for (const key of [...this.following.keys()]) this.unfollow(key);
    this.closing.dispose();
    this.changed.dispose();
  }
}
