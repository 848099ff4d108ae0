// `runAcpSession`: one prompt, start to finish, under one deadline. The agent is always ended afterwards.
import { AcpClient, AcpError, type AcpClientOptions, type FinalStopReason, type SessionInfo, type SessionOptions, type TurnResult } from './client';
import type { AcpEvent } from './events';
import type { ContentBlock } from './protocol';
import type { ToolCallRecord } from './tool-calls';

export interface RunOptions extends AcpClientOptions, SessionOptions {
  prompt: string | ContentBlock[];
  /** Deadline of the whole run (start, turn and all), ms. Default: none. */
  timeoutMs?: number;
  /** Aborting cancels the run (the turn, if one is running, as CONTRACT §5 says). */
  signal?: AbortSignal;
}

export interface AcpResult {
  /** The agent's text in answer to the prompt (not history replayed by `session/load`). */
  outputText: string;
  outputDroppedBytes: number;
  thoughtText: string;
  /** The session used (pass it as `sessionId` to continue); null when none was opened. */
  sessionId: string | null;
  session: SessionInfo | null;
  toolCalls: ToolCallRecord[];
  stopReason: FinalStopReason;
  /** The most recent events (`limits.maxEvents`), and how many there were in all. */
  events: AcpEvent[];
  eventCount: number;
  usage: TurnResult['usage'];
  contextUsage: TurnResult['contextUsage'];
  /** The agent's stderr tail. */
  stderr: string;
  error: string | null;
}

export async function runAcpSession(options: RunOptions): Promise<AcpResult> {
  const { prompt, timeoutMs, signal, sessionId, model, effort, mode, mcpServers, ...clientOptions } = options;
  const client = new AcpClient(clientOptions);
  const controller = new AbortController();
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => controller.abort('timeout'), timeoutMs);
  const onAbort = () => controller.abort(signal?.reason === 'timeout' ? 'timeout' : 'cancelled');
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  let turn: TurnResult | undefined;
  let failure: AcpError | undefined;
  try {
    await client.start({ sessionId, model, effort, mode, mcpServers }, controller.signal);
    turn = await client.prompt(prompt, { signal: controller.signal });
  } catch (err) {
    failure = err instanceof AcpError ? err : new AcpError(err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    await client.close();
  }
  const { events, total } = client.recentEvents();
  return {
    outputText: turn?.outputText ?? '',
    outputDroppedBytes: turn?.outputDroppedBytes ?? 0,
    thoughtText: turn?.thoughtText ?? '',
    sessionId: client.sessionId ?? null,
    session: client.sessionInfo ?? null,
    toolCalls: turn?.toolCalls ?? [],
    stopReason: turn?.stopReason ?? failure?.stopReason ?? 'error',
    events,
    eventCount: total,
    usage: turn?.usage ?? null,
    contextUsage: turn?.contextUsage ?? null,
    stderr: client.stderr(),
    error: turn?.error ?? failure?.message ?? null,
  };
}
