// Server-Sent Events over fetch (EventSource cannot send the key header). The wire format is parsed by
// eventsource-parser; what is ours is the resumption: every event id of a job stream is a cursor, so after
// a dropped connection the stream is asked again with `Last-Event-ID` and goes on after the last event
// received, none lost and none repeated.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { AgentRuntimeError, call, sleep, type QueryValue, type Transport } from './http.js';

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

export interface ReconnectOptions {
  /** Reconnects in a row without an event in between before giving up; 0: never reconnect. Default 10. */
  attempts?: number;
  /** Wait before each reconnect, in ms; default: what the server says (`retry:`, 1000). */
  delayMs?: number;
}

export interface SseOptions {
  query?: Record<string, QueryValue>;
  signal?: AbortSignal;
  /** Resume after this event id (what a previous stream's last event carried). */
  lastEventId?: string;
  /** Reconnect after a drop (only for streams whose ids are cursors). */
  reconnect?: ReconnectOptions | false;
  /** The event after which the stream is complete. */
  isLast: (message: SseMessage) => boolean;
}

/** Thrown when a resumable stream could not be reconnected. */
export class StreamDroppedError extends Error {
  override readonly name = 'StreamDroppedError';
  constructor(
    message: string,
    readonly lastEventId: string | undefined,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export const DEFAULT_RECONNECT_ATTEMPTS = 10;

export async function* readSse(t: Transport, path: string, options: SseOptions): AsyncGenerator<SseMessage> {
  const { signal } = options;
  const resume = options.reconnect !== false;
  const attempts = options.reconnect === false ? 0 : (options.reconnect?.attempts ?? DEFAULT_RECONNECT_ATTEMPTS);
  let retryMs = 1000;
  let lastId = options.lastEventId;
  let failures = 0;
  for (;;) {
    let cause: unknown;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (lastId !== undefined) headers['Last-Event-ID'] = lastId;
      const res = await call(t, 'GET', path, { query: options.query, headers, signal });
      const queue: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (m) => queue.push(m), onRetry: (ms) => (retryMs = ms) });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(value);
          while (queue.length > 0) {
            const m = queue.shift()!;
            // Taken before the event is handed out: a drop while the caller handles it resumes after it.
            if (m.id !== undefined) lastId = m.id;
            failures = 0;
            const message = { event: m.event ?? 'message', id: m.id, data: m.data };
            yield message;
            if (options.isLast(message)) return;
          }
        }
      } finally {
        // Also when the caller stops early (break): the connection goes.
        reader.cancel().catch(() => undefined);
      }
      if (!resume) return;
      cause = new Error('the stream ended before its last event');
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // The server's refusal (a 4xx: a wrong key, a job that is gone) does not get better by asking again.
      if (err instanceof AgentRuntimeError && err.status < 500) throw err;
      if (!resume) throw err;
      cause = err;
    }
    if (++failures > attempts) throw new StreamDroppedError(`${path}: the stream dropped and did not come back (${failures - 1} reconnects)`, lastId, cause);
    await sleep(options.reconnect && options.reconnect.delayMs !== undefined ? options.reconnect.delayMs : retryMs, signal);
  }
}
