// What the client reports while it works: every `session/update` (known or not), every decision it took
// for the agent (permissions, file access, terminals), and the steps of the session's life.
import type { PermissionOption, SessionUpdate } from './protocol';

/**
 * Which part of a session an update belongs to: `replay` is history sent back by `session/load`,
 * `setup` arrives before the prompt (commands, modes), `turn` is the answer to the prompt.
 */
export type UpdatePhase = 'replay' | 'setup' | 'turn';

export interface UpdateEvent {
  type: 'update';
  phase: UpdatePhase;
  /** A schema variant, or one this client does not know (kept as sent, never fatal). */
  update: SessionUpdate | { sessionUpdate: string; [key: string]: unknown };
}

export interface PermissionEvent {
  type: 'permission';
  toolCallId: string;
  title?: string;
  kind?: string;
  /** Paths the decision was judged from (absolute). */
  paths: string[];
  options: PermissionOption[];
  decision: 'allow' | 'reject' | 'cancelled';
  optionId?: string;
  optionKind?: string;
  reason: string;
  policy: string;
}

export interface FsEvent {
  type: 'fs';
  op: 'read' | 'write';
  path: string;
  allowed: boolean;
  bytes?: number;
  /** The file did not exist (answered as `reason` says). */
  missing?: boolean;
  reason?: string;
}

export interface TerminalEvent {
  type: 'terminal';
  op: 'create' | 'exit' | 'kill' | 'release' | 'refused';
  terminalId?: string;
  command?: string;
  cwd?: string;
  exitCode?: number | null;
  signal?: string | null;
  reason?: string;
}

/** A command the agent runs itself, shown live through its tool call's `_meta` (see terminal-meta.ts). */
export interface AgentTerminalEvent {
  type: 'agent_terminal';
  op: 'start' | 'output' | 'exit';
  terminalId: string;
  toolCallId: string;
  cwd?: string;
  /** `output`: the new text. */
  data?: string;
  exitCode?: number | null;
  signal?: string | null;
}

export interface LifecycleEvent {
  type: 'lifecycle';
  stage: 'spawn' | 'initialize' | 'authenticate' | 'session' | 'config' | 'prompt' | 'stop' | 'cancel' | 'kill' | 'exit';
  [detail: string]: unknown;
}

/** Something the agent did wrong that did not end the session (or a warning about our own choices). */
export interface NoticeEvent {
  type: 'notice';
  level: 'warning' | 'error';
  message: string;
}

export type AcpEvent = UpdateEvent | PermissionEvent | FsEvent | TerminalEvent | AgentTerminalEvent | LifecycleEvent | NoticeEvent;

export type EventListener = (event: AcpEvent) => void;

/** The most recent events, at most `limit`, with the count of all seen. */
export class EventRing {
  private items: AcpEvent[] = [];
  total = 0;

  constructor(private readonly limit: number) {}

  push(event: AcpEvent): void {
    this.total++;
    if (this.limit <= 0) return;
    this.items.push(event);
    // Trimming in batches keeps pushes O(1) amortised.
    if (this.items.length >= this.limit * 2) this.items = this.items.slice(-this.limit);
  }

  list(): AcpEvent[] {
    return this.items.length > this.limit ? this.items.slice(-this.limit) : this.items.slice();
  }

  clear(): void {
    this.items = [];
    this.total = 0;
  }
}
