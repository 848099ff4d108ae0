// Everything known about the agent's tool calls: the merged view reported in results, and every path and
// working directory any fragment of a call mentioned, so a permission request that carries only a
// `toolCallId` is still judged from what came before it.
import type { ToolCallContent, ToolCallLocation, ToolCallStatus, ToolCallUpdate } from './protocol';

export interface ToolCallRecord {
  toolCallId: string;
  title?: string;
  kind?: string;
  status?: ToolCallStatus;
  locations?: ToolCallLocation[];
  content?: ToolCallContent[];
  rawInput?: unknown;
  rawOutput?: unknown;
}

/** The paths and working directories a call mentioned, as written (not yet resolved). */
export interface ToolCallReach {
  paths: Set<string>;
  cwds: Set<string>;
}

/** Keys of `rawInput` whose string values name a working directory. */
const CWD_KEY = /^(cwd|workdir|working_?dir(ectory)?)$/i;
/** Keys whose string values name files or directories the call touches. */
const PATH_KEY = /(path|file|dir|directory|folder|destination|^dest$|^target|^source$|^from$|^to$)/i;
const MAX_DEPTH = 4;

export class ToolCallTracker {
  private readonly calls = new Map<string, ToolCallRecord>();
  private readonly reach = new Map<string, ToolCallReach>();

  constructor(private readonly limit: number) {}

  /** Merges a `tool_call`, `tool_call_update` or a permission request's `toolCall` into what is known. */
  apply(fragment: Partial<ToolCallUpdate> & { toolCallId: string }): ToolCallRecord {
    const id = fragment.toolCallId;
    let record = this.calls.get(id);
    if (!record) {
      record = { toolCallId: id };
      this.calls.set(id, record);
      this.reach.set(id, { paths: new Set(), cwds: new Set() });
      this.evict();
    }
    if (fragment.title != null) record.title = fragment.title;
    if (fragment.kind != null) record.kind = fragment.kind;
    if (fragment.status != null) record.status = fragment.status;
    if (fragment.locations != null) record.locations = fragment.locations;
    if (fragment.content != null) record.content = fragment.content;
    if (fragment.rawInput !== undefined) record.rawInput = fragment.rawInput;
    if (fragment.rawOutput !== undefined) record.rawOutput = fragment.rawOutput;
    collectReach(fragment, this.reach.get(id)!);
    return record;
  }

  get(id: string): ToolCallRecord | undefined {
    return this.calls.get(id);
  }

  reachOf(id: string): ToolCallReach {
    return this.reach.get(id) ?? { paths: new Set(), cwds: new Set() };
  }

  list(): ToolCallRecord[] {
    return [...this.calls.values()];
  }

  get size(): number {
    return this.calls.size;
  }

  clear(): void {
    this.calls.clear();
    this.reach.clear();
  }

  /** Past the limit the oldest calls are forgotten (Maps iterate in insertion order). */
  private evict(): void {
    while (this.calls.size > this.limit) {
      const oldest = this.calls.keys().next().value as string;
      this.calls.delete(oldest);
      this.reach.delete(oldest);
    }
  }
}

function collectReach(fragment: Partial<ToolCallUpdate>, reach: ToolCallReach): void {
  for (const loc of fragment.locations ?? []) if (typeof loc?.path === 'string') reach.paths.add(loc.path);
  for (const c of fragment.content ?? []) {
    if (c && c.type === 'diff' && typeof c.path === 'string') reach.paths.add(c.path);
    // Gemini CLI names a shell command's directory only in its text: "[current working directory /x] (…)"
    const text = c && c.type === 'content' ? (c.content as { type?: string; text?: unknown }) : undefined;
    const cwd = typeof text?.text === 'string' ? /^\[current working directory (\/[^\]]*)\]/.exec(text.text)?.[1] : undefined;
    if (cwd) reach.cwds.add(cwd);
  }
  if (fragment.rawInput !== undefined) collectFromInput(fragment.rawInput, reach, 0);
}

function collectFromInput(value: unknown, reach: ToolCallReach, depth: number): void {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (CWD_KEY.test(key) && typeof v === 'string' && v) reach.cwds.add(v);
    else if (PATH_KEY.test(key) && (typeof v === 'string' || Array.isArray(v))) addPaths(v, reach);
    else if (typeof v === 'object') collectFromInput(v, reach, depth + 1);
  }
}

function addPaths(v: unknown, reach: ToolCallReach): void {
  if (typeof v === 'string') {
    // URLs are not paths on this machine.
    if (v && !/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) reach.paths.add(v);
  } else if (Array.isArray(v)) {
    for (const item of v) if (typeof item === 'string') addPaths(item, reach);
  }
}
