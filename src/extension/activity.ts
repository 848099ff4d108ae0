// What the editor's views show of the server's work (jobs, ACP agents, terminals, persistent shells), free
// of `vscode` so it is tested against the real core. It follows the controller's in-process server and
// hears of changes from the server itself (no polling per item), coalescing bursts into one refresh.
import { EventEmitter } from 'node:events';
import type { Job } from '../server/jobs/job';
import type { JobEvent } from '../server/jobs/event-log';
import type { PendingPermission } from '../server/modes/acp/permissions';
import type { JobRecord } from '../server/jobs/types';
import type { AgentServer } from '../server/server';
import type { SessionManager } from '../server/modes/persistent-shell/manager';
import type { ShellSessionInfo as ShellInfo } from '../server/modes/persistent-shell/session';
import type { TerminalSessionInfo as TerminalInfo } from '../server/terminal/session';

/** Finished jobs the Jobs view lists besides every unfinished one (the store keeps more; the API serves them). */
export const RECENT_JOBS_SHOWN = 100;
/** The tail of each output stream the read-only editor shows (it is read again on each redraw). */
export const OUTPUT_SHOWN_BYTES = 1024 * 1024;
/** Changes within this window reach the views as one refresh. */
export const REFRESH_DEBOUNCE_MS = 150;

/** The part of the controller the feed follows (the ServerController, or a stand-in in tests). */
export interface ServerSource {
  readonly server: AgentServer | undefined;
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

/**
 * Events, each after REFRESH_DEBOUNCE_MS of quiet at most: `jobs` (the ids that changed, or `undefined` when
 * the whole list must be read again: a new job, an end, another server), `terminals`, `shells`.
 */
export class ActivityFeed extends EventEmitter {
  private server: AgentServer | undefined;
  private unsubscribe: Array<() => void> = [];
  private changedJobs = new Set<string>();
  private allJobs = false;
  private dirty = { terminals: false, shells: false };
  private timer: NodeJS.Timeout | undefined;
  private readonly follow = () => this.attach(this.source.server);

  constructor(
    private readonly source: ServerSource,
    private readonly debounceMs = REFRESH_DEBOUNCE_MS,
  ) {
    super();
    source.on('change', this.follow);
    this.attach(source.server);
  }

  /** Unfinished jobs first (newest first), then the most recent finished ones. */
  jobs(mode?: JobRecord['mode']): Job[] {
    const all = this.server?.manager.store.all() ?? [];
    return orderJobs(mode ? all.filter((j) => j.record.mode === mode) : all);
  }

  job(id: string): Job | undefined {
    return this.server?.manager.store.get(id);
  }

  terminals(): TerminalInfo[] {
    return this.server?.terminal.list() ?? [];
  }

  shells(): ShellInfo[] {
    return shellSessions(this.server)?.list() ?? [];
  }

  /** What the status bar counts. */
  counts(): { running: number; approvals: number } {
    const all = this.server?.manager.store.all() ?? [];
    let running = 0;
    let approvals = 0;
    for (const job of all) {
      if (job.isFinal()) continue;
      if (job.record.status === 'running') running++;
      approvals += pendingOf(job.record).length;
    }
    return { running, approvals };
  }

  dispose(): void {
    this.source.off('change', this.follow);
    this.attach(undefined);
    clearTimeout(this.timer);
    this.removeAllListeners();
  }

  private attach(server: AgentServer | undefined): void {
    if (server === this.server) return;
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.server = server;
    if (server) {
      this.unsubscribe.push(
        server.manager.onJobChange((job) => this.jobChanged(job)),
        server.terminal.onSessionsChange(() => this.mark('terminals')),
      );
      const shells = shellSessions(server);
      if (shells) this.unsubscribe.push(shells.onChange(() => this.mark('shells')));
    }
    this.allJobs = true;
    this.dirty = { terminals: true, shells: true };
    this.schedule();
  }

  private jobChanged(job: Job): void {
    // A job's first appearance and its end move it in the list; other changes redraw only its row.
    if (job.record.status === 'pending' || job.isFinal()) this.allJobs = true;
    else this.changedJobs.add(job.id);
    // A persistent shell's command moves the shell's state and cwd.
    if (job.record.mode === 'persistent_shell') this.dirty.shells = true;
    this.schedule();
  }

  private mark(what: 'terminals' | 'shells'): void {
    this.dirty[what] = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.debounceMs);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.allJobs || this.changedJobs.size) this.emit('jobs', this.allJobs ? undefined : [...this.changedJobs]);
    this.allJobs = false;
    this.changedJobs = new Set();
    if (this.dirty.terminals) this.emit('terminals');
    if (this.dirty.shells) this.emit('shells');
    this.dirty = { terminals: false, shells: false };
  }
}

function shellSessions(server: AgentServer | undefined): SessionManager | undefined {
  const runner = server?.manager.runnerList().find((r) => r.mode === 'persistent_shell') as { sessions?: SessionManager } | undefined;
  return runner?.sessions;
}

export function orderJobs(jobs: Job[], recent = RECENT_JOBS_SHOWN): Job[] {
  const open = jobs.filter((j) => !j.isFinal()).sort((a, b) => b.record.submittedAt - a.record.submittedAt);
  const done = jobs
    .filter((j) => j.isFinal())
    .sort((a, b) => (b.record.finishedAt ?? b.record.submittedAt) - (a.record.finishedAt ?? a.record.submittedAt))
    .slice(0, recent);
  return [...open, ...done];
}

export function pendingOf(record: JobRecord): PendingPermission[] {
  const p = record.fields.pendingPermissions;
  return Array.isArray(p) ? (p as PendingPermission[]) : [];
}

/** A row of the Jobs or Agents view, as the tree item shows it. */
export interface JobRow {
  id: string;
  label: string;
  description: string;
  tooltip: string;
  /** A codicon id and its theme colour. */
  icon: { id: string; color?: string };
  /** For the view's menus: `job.running`, `job.done`, `job.asking` (a pending permission). */
  contextValue: string;
}

export function jobRow(record: JobRecord): JobRow {
  const pending = pendingOf(record);
  const acp = record.mode === 'acp';
  const label = acp
    ? `${oneLine(String(record.fields.agent ?? 'agent'), 40)}${promptOf(record) ? `: ${oneLine(promptOf(record)!, 60)}` : ''}`
    : oneLine(record.command, 80);
  const parts: string[] = [];
  if (pending.length) parts.push(`asks: ${oneLine(pending[0]!.title ?? pending[0]!.kind ?? 'a tool call', 40)}`);
  else parts.push(stateOf(record));
  // A finished job's duration; a running one's start (its row is redrawn on changes, not every second).
  if (record.durationMs !== undefined) parts.push(duration(record.durationMs));
  else if (record.startedAt) parts.push(`since ${clock(record.startedAt)}`);
  if (acp && typeof record.fields.stopReason === 'string') parts.push(record.fields.stopReason);
  else if (record.exitCode !== undefined && record.exitCode !== null && record.status !== 'running') parts.push(`exit ${record.exitCode}`);
  const tooltip = [
    `${record.jobId} (${record.mode})`,
    acp ? `agent: ${String(record.fields.agentCommand ?? record.fields.agent ?? '')}` : `command: ${record.command}`,
    `workdir: ${record.workdir}`,
    `status: ${stateOf(record)}${record.endReason ? ` (${record.endReason})` : ''}`,
    ...(record.error ? [`error: ${record.error}`] : []),
    ...pending.map((p) => `asks to run ${p.title ?? p.kind ?? 'a tool call'}${p.paths.length ? ` on ${p.paths.join(', ')}` : ''}`),
  ].join('\n');
  return {
    id: record.jobId,
    label,
    description: parts.join(' · '),
    tooltip,
    icon: iconOf(record, pending.length > 0),
    contextValue: pending.length ? 'job.asking' : FINAL.has(record.status) ? 'job.done' : 'job.running',
  };
}

const FINAL = new Set(['completed', 'failed', 'timeout']);

function stateOf(r: JobRecord): string {
  if (r.cancelled) return 'cancelled';
  if (r.interrupted) return 'interrupted';
  return r.status;
}

function iconOf(r: JobRecord, asking: boolean): JobRow['icon'] {
  if (asking) return { id: 'question', color: 'charts.yellow' };
  switch (r.status) {
    case 'pending':
      return { id: 'clock' };
    case 'running':
      return { id: 'sync~spin', color: 'charts.blue' };
    case 'completed':
      return { id: 'pass', color: 'testing.iconPassed' };
    case 'timeout':
      return { id: 'watch', color: 'testing.iconFailed' };
    default:
      return r.cancelled || r.interrupted ? { id: 'circle-slash', color: 'disabledForeground' } : { id: 'error', color: 'testing.iconFailed' };
  }
}

function promptOf(r: JobRecord): string | undefined {
  return typeof r.fields.prompt === 'string' ? r.fields.prompt : undefined;
}

/** Unix seconds as a local wall-clock time, HH:MM:SS. */
export function clock(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The option a person's Approve (or Reject) picks among an agent's: once before always. */
export function pickOption(request: PendingPermission, approve: boolean): string | undefined {
  const order = approve ? ['allow_once', 'allow_always'] : ['reject_once', 'reject_always'];
  for (const kind of order) {
    const o = request.options.find((x) => x.kind === kind);
    if (o) return o.optionId;
  }
  return request.options.find((x) => x.kind.startsWith(approve ? 'allow' : 'reject'))?.optionId;
}

/** A job's output as the read-only editor shows it: stdout, then stderr under a rule. */
export function outputText(job: Job, maxBytes = OUTPUT_SHOWN_BYTES): string {
  const final = job.isFinal();
  const outSlice = job.stdout.tail(maxBytes, final);
  const out = `${outSlice.truncated ? `[… the first ${outSlice.offset} bytes are left out; GET /jobs/${job.id} reads them by offset]\n` : ''}${outSlice.text}`;
  const err = job.stderr.tail(maxBytes, final).text;
  const head = `# ${job.record.command}\n# ${job.id} · ${stateOf(job.record)}${job.record.exitCode !== undefined && job.record.exitCode !== null ? ` · exit ${job.record.exitCode}` : ''}\n\n`;
  return `${head}${out}${err ? `${out.endsWith('\n') || !out ? '' : '\n'}\n--- stderr ---\n${err}` : ''}`;
}

/**
 * An ACP job's transcript, as markdown: the agent's messages (chunks joined), its thoughts, its tool calls
 * with their diffs, the permission requests and what was decided, and how the turn ended.
 */
export function transcript(record: JobRecord, events: JobEvent[]): string {
  const lines: string[] = [`# ${String(record.fields.agent ?? 'Agent')} · ${record.jobId}`, ''];
  if (promptOf(record)) lines.push('## Prompt', '', promptOf(record)!, '');
  let open: 'agent_message_chunk' | 'agent_thought_chunk' | 'user_message_chunk' | undefined;
  let text = '';
  const flush = () => {
    if (open && text) {
      const who = open === 'agent_message_chunk' ? 'Agent' : open === 'user_message_chunk' ? 'User' : 'Thinking';
      lines.push(
        `**${who}:**`,
        '',
        open === 'agent_thought_chunk'
          ? text
              .split('\n')
              .map((l) => `> ${l}`)
              .join('\n')
          : text,
        '',
      );
    }
    open = undefined;
    text = '';
  };
  const tools = new Map<string, string>();
  for (const e of events) {
    const d = (e.data ?? {}) as EventData;
    if (e.type === 'update') {
      const u = d.update ?? {};
      const kind = u.sessionUpdate;
      if (kind === 'agent_message_chunk' || kind === 'agent_thought_chunk' || kind === 'user_message_chunk') {
        if (open !== kind) flush();
        open = kind;
        const c = Array.isArray(u.content) ? u.content[0] : u.content;
        text += c?.type === 'text' ? String(c.text) : `[${String(c?.type ?? 'content')}]`;
        continue;
      }
      flush();
      if (kind === 'tool_call' || kind === 'tool_call_update') {
        const id = String(u.toolCallId ?? '');
        const title = String(u.title ?? tools.get(id) ?? id);
        tools.set(id, title);
        if (kind === 'tool_call' || u.status) lines.push(`- Tool call **${title}**${u.kind ? ` (${u.kind})` : ''}${u.status ? `: ${u.status}` : ''}`);
        for (const c of Array.isArray(u.content) ? u.content : []) {
          if (c?.type === 'diff') lines.push('', `  \`${c.path}\``, '', '```diff', ...diffLines(c.oldText ?? null, String(c.newText ?? '')), '```', '');
          else if (c?.type === 'content' && c.content?.type === 'text') lines.push(`  ${oneLine(String(c.content.text), 200)}`);
        }
      } else if (kind === 'plan' && Array.isArray(u.entries)) {
        lines.push('**Plan:**', ...u.entries.map((p) => `- [${p.status === 'completed' ? 'x' : ' '}] ${String(p.content)}`), '');
      }
      continue;
    }
    flush();
    if (e.type === 'permission_request') {
      lines.push(`- Asks to run **${String(d.title ?? d.kind ?? 'a tool call')}**${d.paths?.length ? ` on ${d.paths.join(', ')}` : ''}`);
    } else if (e.type === 'permission') {
      const mark = d.decision === 'allow' ? 'Allowed' : d.decision === 'reject' ? 'Rejected' : 'Cancelled';
      lines.push(
        `- ${mark} **${String(d.title ?? tools.get(String(d.toolCallId)) ?? d.toolCallId)}**${d.optionId ? ` (${d.optionId})` : ''}: ${String(d.reason ?? '')}`,
      );
    } else if (e.type === 'terminal' && d.op === 'create') {
      lines.push(`- Runs \`${String(d.command ?? '')}\`${d.cwd ? ` in ${d.cwd}` : ''}`);
    } else if (e.type === 'fs' && d.op === 'write') {
      lines.push(`- ${d.allowed ? 'Writes' : 'Was refused writing'} ${String(d.path)}`);
    } else if (e.type === 'notice') {
      lines.push(`- Notice: ${String(d.message)}`);
    } else if (e.type === 'lifecycle' && d.stage === 'stop') {
      lines.push('', `**Stopped:** ${String(d.stopReason ?? 'unknown')}${d.error ? ` (${d.error})` : ''}`);
    }
  }
  flush();
  if (FINAL.has(record.status)) lines.push('', `*Job ${stateOf(record)}${record.endReason ? ` (${record.endReason})` : ''}.*`);
  return `${lines.join('\n')}\n`;
}

/** What the transcript reads of an event's data (the ACP client's events, see src/acp/events.ts). */
interface EventData {
  update?: {
    sessionUpdate?: string;
    content?: EventContent | EventContent[];
    toolCallId?: string;
    title?: string;
    kind?: string;
    status?: string;
    entries?: { status?: string; content?: string }[];
  };
  title?: string;
  kind?: string;
  paths?: string[];
  decision?: string;
  toolCallId?: string;
  optionId?: string;
  reason?: string;
  op?: string;
  command?: string;
  cwd?: string;
  allowed?: boolean;
  path?: string;
  message?: string;
  stage?: string;
  stopReason?: string;
  error?: string;
}

interface EventContent {
  type?: string;
  text?: string;
  path?: string;
  oldText?: string | null;
  newText?: string;
  content?: { type?: string; text?: string };
}

/** A plain line diff: the old text removed, the new added (enough to read a tool call's edit). */
function diffLines(oldText: string | null, newText: string): string[] {
  const before = oldText === null ? [] : oldText.split('\n');
  const after = newText.split('\n');
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
    endB--;
    endA--;
  }
  return [...before.slice(start, endB).map((l) => `-${l}`), ...after.slice(start, endA).map((l) => `+${l}`)];
}
