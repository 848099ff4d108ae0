// A client of one of the server's terminal sessions over its WebSocket (`?session=ID`, the screen replayed
// on joining), free of `vscode`: the editor's Attach wraps it in a pseudoterminal.
import WebSocket from 'ws';
import { CLOSE } from '../server/terminal/protocol';

export interface TerminalClientEvents {
  /** Terminal output (the replayed screen first). */
  output(data: string): void;
  /** The session ended, or the connection closed; `why` says which. */
  closed(why: string): void;
}

export interface TerminalClient {
  input(data: string): void;
  resize(cols: number, rows: number): void;
  close(): void;
}

/** Joins the session `id` of the server at `baseUrl` (http://host:port) with the API key. */
export function joinTerminal(
  baseUrl: string,
  key: string,
  id: string,
  size: { cols: number; rows: number } | undefined,
  on: TerminalClientEvents,
): TerminalClient {
  const url = new URL('/terminal/ws', baseUrl.replace(/^http/, 'ws'));
  url.searchParams.set('session', id);
  if (size) {
    url.searchParams.set('cols', String(size.cols));
    url.searchParams.set('rows', String(size.rows));
  }
  const ws = new WebSocket(url, { headers: { 'X-API-Key': key } });
  let ended = false;
  const end = (why: string) => {
    if (ended) return;
    ended = true;
    on.closed(why);
  };
  ws.on('message', (data) => {
    const text = data.toString();
    if (!text.startsWith('\u0000')) return on.output(text);
    try {
      const msg = JSON.parse(text.slice(1)) as { type: string; message?: string; reason?: string; exitCode?: number | null };
      if (msg.type === 'exit')
        end(`the session ended (${msg.reason ?? 'exit'}${msg.exitCode !== undefined && msg.exitCode !== null ? `, exit ${msg.exitCode}` : ''})`);
      else if (msg.type === 'error') end(String(msg.message));
    } catch {
      // not a control message after all: nothing to show
    }
  });
  ws.on('close', (code, reason) =>
    end(code === CLOSE.sessionNotFound ? `no such session: ${reason.toString()}` : `disconnected (${code}${reason.length ? `: ${reason.toString()}` : ''})`),
  );
  ws.on('error', (err) => end(err.message));
  // What the person types before the socket opens is sent once it does.
  const early: string[] = [];
  ws.on('open', () => early.splice(0).forEach((f) => ws.send(f)));
  const send = (frame: object) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
    else if (ws.readyState === WebSocket.CONNECTING) early.push(JSON.stringify(frame));
  };
  return {
    input: (data) => send({ type: 'input', data }),
    resize: (cols, rows) => send({ type: 'resize', cols, rows }),
    // Leaving only detaches: the session goes on for the agent (End ends it).
    close: () => {
      ended = true;
      ws.close(CLOSE.normal);
    },
  };
}
