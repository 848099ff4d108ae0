// Live output of the commands an agent runs itself, sent in a tool call's `_meta` when the client advertises
// `clientCapabilities._meta.terminal_output` (Codex, Claude Code; the convention Zed reads):
// `terminal_info {terminal_id, cwd?}` announces a terminal, `terminal_output {terminal_id, data}` carries
// output (a chunk, or with Claude Code the whole output so far), `terminal_output_delta` a chunk, and
// `terminal_exit {terminal_id, exit_code, signal}` its end. Anything malformed is a warning, never fatal.
import type { AgentTerminalEvent, NoticeEvent } from './events';

interface Stream {
  toolCallId: string;
  /** What was shown so far, kept up to `maxBytes` to tell a repeated whole output from a new chunk. */
  seen: string;
  seenWhole: boolean;
}

export class AgentTerminals {
  private readonly streams = new Map<string, Stream>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly emit: (e: AgentTerminalEvent | NoticeEvent) => void,
    private readonly maxBytes: number,
    private readonly maxStreams = 256,
  ) {}

  /** Reads the `_meta` of a `tool_call` or `tool_call_update`. */
  onToolCall(toolCallId: string, meta: unknown): void {
    if (meta === undefined || meta === null) return;
    if (typeof meta !== 'object' || Array.isArray(meta)) return this.warn('meta', `tool call ${toolCallId} has a _meta that is not an object; ignored`);
    const m = meta as Record<string, unknown>;
    if ('terminal_info' in m) this.info(toolCallId, m.terminal_info);
    if ('terminal_output' in m) this.output(toolCallId, m.terminal_output, false);
    if ('terminal_output_delta' in m) this.output(toolCallId, m.terminal_output_delta, true);
    if ('terminal_exit' in m) this.exit(toolCallId, m.terminal_exit);
  }

  clear(): void {
    this.streams.clear();
  }

  private info(toolCallId: string, v: unknown): void {
    const id = terminalId(v);
    if (id === undefined) return this.warn(`info:${toolCallId}`, `tool call ${toolCallId}: _meta.terminal_info has no terminal_id; ignored`);
    if (!this.streams.has(id)) {
      if (this.streams.size >= this.maxStreams) this.streams.delete(this.streams.keys().next().value as string);
      this.streams.set(id, { toolCallId, seen: '', seenWhole: true });
    }
    const cwd = (v as { cwd?: unknown }).cwd;
    this.emit({ type: 'agent_terminal', op: 'start', terminalId: id, toolCallId, ...(typeof cwd === 'string' ? { cwd } : {}) });
  }

  private output(toolCallId: string, v: unknown, delta: boolean): void {
    const id = terminalId(v);
    const data = (v as { data?: unknown } | null)?.data;
    if (id === undefined || typeof data !== 'string') {
      return this.warn(`output:${toolCallId}`, `tool call ${toolCallId}: _meta.terminal_output needs a terminal_id and a string data; ignored`);
    }
    const s = this.streams.get(id);
    if (!s) return this.warn(`unknown:${id}`, `the agent sent output for terminal ${id}, which it never announced (terminal_info); ignored`);
    let text = data;
    // a whole output repeated with more at its end: only the new part is new
    if (!delta && s.seenWhole && s.seen && data.startsWith(s.seen)) text = data.slice(s.seen.length);
    if (delta) s.seenWhole = false;
    else if (Buffer.byteLength(s.seen) + Buffer.byteLength(text) <= this.maxBytes) s.seen += text;
    else s.seenWhole = false;
    if (text) this.emit({ type: 'agent_terminal', op: 'output', terminalId: id, toolCallId: s.toolCallId, data: text });
  }

  private exit(toolCallId: string, v: unknown): void {
    const id = terminalId(v);
    if (id === undefined) return this.warn(`exit:${toolCallId}`, `tool call ${toolCallId}: _meta.terminal_exit has no terminal_id; ignored`);
    const s = this.streams.get(id);
    if (!s) return this.warn(`unknown:${id}`, `the agent ended terminal ${id}, which it never announced (terminal_info); ignored`);
    this.streams.delete(id);
    const e = v as { exit_code?: unknown; signal?: unknown };
    this.emit({
      type: 'agent_terminal',
      op: 'exit',
      terminalId: id,
      toolCallId: s.toolCallId,
      exitCode: typeof e.exit_code === 'number' ? e.exit_code : null,
      signal: typeof e.signal === 'string' ? e.signal : null,
    });
  }

  private warn(key: string, message: string): void {
    // once per cause, so a flood of bad updates cannot flood the events
    if (this.warned.has(key) || this.warned.size > 1000) return;
    this.warned.add(key);
    this.emit({ type: 'notice', level: 'warning', message });
  }
}

function terminalId(v: unknown): string | undefined {
  const id = (v as { terminal_id?: unknown } | null)?.terminal_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
