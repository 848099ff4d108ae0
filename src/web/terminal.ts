// The web terminal page (GET /terminal): xterm.js on the terminal WebSocket.
// It asks for the API key once and keeps it in sessionStorage (this tab only), trades it for a one-time
// ticket before each connection (browsers cannot set headers on a WebSocket), and when the connection
// drops it reconnects to the same session, which replays the screen as it stands.
// A `command` in the page's own URL is never typed unasked: a link is anyone's to craft, and this tab holds
// the key, so the page shows the command and runs it in the next new session only if the person says so.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

const KEY_ITEM = 'agent-runtime.terminal.key';
const SESSION_ITEM = 'agent-runtime.terminal.session';
/** Close codes from the server (docs/terminal.md). */
const CLOSE_POLICY = 1008;
const CLOSE_TRY_LATER = 1013;
const CLOSE_SESSION_NOT_FOUND = 4404;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
/** Application-level pings keep proxies and tunnels from closing a quiet connection. */
const PING_MS = 25_000;

type Status = 'key' | 'confirm' | 'connecting' | 'connected' | 'reconnecting' | 'ended' | 'error';

interface Control {
  type: string;
  id?: string;
  message?: string;
  exitCode?: number | null;
  reason?: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const term = new Terminal({
  cursorBlink: true,
  scrollback: 5000,
  fontFamily: 'ui-monospace, "Cascadia Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
  fontSize: 14,
  theme: { background: '#1e1e1e' },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
fit.fit();

let socket: WebSocket | undefined;
let retryMs = RETRY_MIN_MS;
let retryTimer: number | undefined;
let pingTimer: number | undefined;
let ended = false;
let everConnected = false;
/** The page URL's `command` once the person agreed to run it; the next new session takes it. */
let approvedCommand: string | undefined;
/** Whether the page URL's `command` was asked about (it is asked once, whatever the answer). */
let commandAsked = false;

function setStatus(status: Status, text: string): void {
  document.body.dataset.status = status;
  $('status').textContent = text;
}

function send(frame: object): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

term.onData((data) => {
  if (ended) {
    if (data === '\r') startNewSession();
    return;
  }
  send({ type: 'input', data });
});
term.onResize(({ cols, rows }) => send({ type: 'resize', cols, rows }));

let fitTimer: number | undefined;
window.addEventListener('resize', () => {
  clearTimeout(fitTimer);
  fitTimer = window.setTimeout(() => fit.fit(), 50);
});
window.addEventListener('online', () => reconnectNow());

/** Resolves with the key: the one kept in this tab, or one the person types into the dialog. */
function askKey(error?: string): Promise<string> {
  const kept = sessionStorage.getItem(KEY_ITEM);
  if (kept && !error) return Promise.resolve(kept);
  setStatus('key', 'API key needed');
  const dialog = $('key-dialog');
  const input = $<HTMLInputElement>('key-input');
  const errorLine = $('key-error');
  errorLine.textContent = error ?? '';
  errorLine.hidden = !error;
  dialog.hidden = false;
  input.value = '';
  input.focus();
  return new Promise((resolve) => {
    $<HTMLFormElement>('key-form').onsubmit = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_ITEM, key);
      dialog.hidden = true;
      term.focus();
      resolve(key);
    };
  });
}

async function fetchTicket(): Promise<string | undefined> {
  let error: string | undefined;
  for (;;) {
    const key = await askKey(error);
    const res = await fetch(new URL('terminal/tickets', location.href), { method: 'POST', headers: { 'x-api-key': key } });
    if (res.ok) return ((await res.json()) as { ticket: string }).ticket;
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    if (res.status !== 401) throw new Error(body.error ?? `ticket request failed (HTTP ${res.status})`);
    sessionStorage.removeItem(KEY_ITEM);
    error = 'That key was not accepted. Try again.';
  }
}

/**
 * Shows the `command` of the page's URL and resolves once the person chose: run it (in the next new
 * session) or not. It is then dropped from the address bar, so a reload does not ask again.
 */
function confirmCommand(): Promise<void> {
  commandAsked = true;
  const page = new URL(location.href);
  const command = page.searchParams.get('command');
  if (!command) return Promise.resolve();
  setStatus('confirm', 'waiting for you to allow the command');
  const dialog = $('command-dialog');
  $('command-text').textContent = command;
  dialog.hidden = false;
  $('command-run').focus();
  return new Promise((resolve) => {
    const decide = (run: boolean) => {
      approvedCommand = run ? command : undefined;
      dialog.hidden = true;
      page.searchParams.delete('command');
      history.replaceState(history.state, '', page);
      resolve();
    };
    $<HTMLFormElement>('command-form').onsubmit = (event) => {
      event.preventDefault();
      decide(true);
    };
    $('command-skip').onclick = () => decide(false);
  });
}

/** The WebSocket URL beside this page, carrying the ticket, the session to resume, `workdir` and an approved command. */
function socketUrl(ticket: string): URL {
  const url = new URL('terminal/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const workdir = new URLSearchParams(location.search).get('workdir');
  if (workdir) url.searchParams.set('workdir', workdir);
  const session = sessionStorage.getItem(SESSION_ITEM);
  if (!session && approvedCommand) {
    url.searchParams.set('command', approvedCommand);
    approvedCommand = undefined;
  }
  url.searchParams.set('ticket', ticket);
  url.searchParams.set('cols', String(term.cols));
  url.searchParams.set('rows', String(term.rows));
  if (session) url.searchParams.set('session', session);
  return url;
}

async function connect(): Promise<void> {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  const resuming = sessionStorage.getItem(SESSION_ITEM) !== null;
  if (!resuming && !commandAsked) await confirmCommand();
  setStatus(everConnected ? 'reconnecting' : 'connecting', everConnected ? 'reconnecting…' : 'connecting…');
  let ticket: string | undefined;
  try {
    ticket = await fetchTicket();
  } catch (err) {
    setStatus('error', (err as Error).message);
    return scheduleReconnect();
  }
  if (!ticket) return;
  const ws = new WebSocket(socketUrl(ticket));
  socket = ws;
  ws.onmessage = (event: MessageEvent<string>) => {
    const data = event.data;
    if (data.charCodeAt(0) === 0) return onControl(JSON.parse(data.slice(1)) as Control, resuming);
    term.write(data);
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = undefined;
    clearInterval(pingTimer);
    onClosed(event.code, event.reason);
  };
}

function onControl(msg: Control, resuming: boolean): void {
  switch (msg.type) {
    case 'session':
      // The screen comes next, replayed from the server's state: start from a clean terminal.
      if (resuming || everConnected) term.reset();
      sessionStorage.setItem(SESSION_ITEM, String(msg.id));
      document.body.dataset.session = String(msg.id);
      everConnected = true;
      ended = false;
      retryMs = RETRY_MIN_MS;
      setStatus('connected', `connected · session ${String(msg.id).slice(0, 8)}`);
      clearInterval(pingTimer);
      pingTimer = window.setInterval(() => send({ type: 'ping' }), PING_MS);
      fit.fit();
      term.focus();
      break;
    case 'exit':
      ended = true;
      sessionStorage.removeItem(SESSION_ITEM);
      setStatus('ended', `session ended (${msg.reason ?? 'exit'}${msg.exitCode != null ? `, code ${msg.exitCode}` : ''})`);
      term.write(`\r\n\x1b[2m[session ended: press Enter for a new one]\x1b[0m\r\n`);
      break;
    case 'error':
      term.write(`\r\n\x1b[31m[${msg.message ?? 'error'}]\x1b[0m\r\n`);
      break;
  }
}

function onClosed(code: number, reason: string): void {
  if (ended) return;
  if (code === CLOSE_SESSION_NOT_FOUND) {
    // The shell is gone (grace period over, or it ended while we were away): open a fresh one.
    sessionStorage.removeItem(SESSION_ITEM);
    term.write('\r\n\x1b[2m[the previous session has ended; starting a new one]\x1b[0m\r\n');
    void connect();
    return;
  }
  if (code === CLOSE_POLICY) {
    setStatus('error', reason || 'connection refused');
    return;
  }
  if (code === CLOSE_TRY_LATER) setStatus('error', reason || 'server busy; retrying');
  scheduleReconnect();
}

function scheduleReconnect(): void {
  if (retryTimer !== undefined) return;
  if (document.body.dataset.status !== 'error') setStatus('reconnecting', `disconnected; reconnecting in ${Math.round(retryMs / 100) / 10} s`);
  retryTimer = window.setTimeout(() => void connect(), retryMs);
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}

function reconnectNow(): void {
  if (socket || ended) return;
  retryMs = RETRY_MIN_MS;
  void connect();
}

function startNewSession(): void {
  const old = socket;
  socket = undefined;
  // 4000: leave the old shell for its grace period (a 1000 would end it); the server treats it as a drop.
  old?.close(4000, 'new session');
  sessionStorage.removeItem(SESSION_ITEM);
  ended = false;
  term.reset();
  void connect();
}

$('new-session').addEventListener('click', startNewSession);
$('forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_ITEM);
  socket?.close(4000, 'key forgotten');
  socket = undefined;
  void askKey('Key removed from this tab.').then(() => reconnectNow());
});

void connect();
