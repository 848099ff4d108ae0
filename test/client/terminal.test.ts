// client.terminal() against the real server's PTY terminals, with `ws` as Node 20's WebSocket: output as
// xterm.js takes it, input, resize, ping, a reconnect to the same shell after a real cut, close and detach.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AgentRuntimeClient, type TerminalConnection, type WebSocketConstructor } from '../../src/client';
import { eventually, startTestServer, tempDir, type TestServer } from '../helpers/server';
import { startCutProxy, type CutProxy } from './cut-proxy';

let s: TestServer;
let proxy: CutProxy;
let client: AgentRuntimeClient;
before(async () => {
  s = await startTestServer({}, { terminal: { options: { maxSessions: 4 } } });
  proxy = await startCutProxy(s.url);
  client = new AgentRuntimeClient({ url: proxy.url, key: s.key, WebSocket: WebSocket as unknown as WebSocketConstructor });
});
after(async () => {
  await proxy.close();
  await s.close();
});

/** Everything the terminal printed, as one string. */
function screen(t: TerminalConnection): () => string {
  let out = '';
  t.on('data', (d) => (out += d));
  return () => out;
}

describe('client.terminal', () => {
  it('opens a shell in a workdir, types, resizes, pings; close ends the session', async () => {
    const dir = tempDir('ar-client-term-');
    const t = client.terminal({ workdir: dir, cols: 100, rows: 30 });
    const out = screen(t);
    const session = await t.opened;
    assert.equal(session.resumed, false);
    assert.equal(session.cols, 100);
    assert.equal(t.sessionId, session.id);
    t.write('echo "sum=$((40+2))"; pwd\r');
    await eventually(() => out().includes('sum=42') && out().includes(dir), 20_000, 'the echo and pwd');
    t.resize(120, 40);
    await t.ping();
    await eventually(async () => (await client.terminals()).terminals.find((x) => x.id === session.id)?.cols === 120, 10_000, 'the resize');
    const closed = await t.close();
    assert.equal(closed.code, 1000);
    await eventually(async () => !(await client.terminals()).terminals.some((x) => x.id === session.id), 10_000, 'the session to end');
  });

  it('reconnects to the same shell after the connection is cut, with the screen replayed', async () => {
    const t = client.terminal({ reconnect: { delayMs: 50 } });
    const out = screen(t);
    const sessions: { id: string; resumed: boolean }[] = [];
    t.on('session', (x) => sessions.push(x));
    const reconnects: number[] = [];
    t.on('reconnecting', (r) => reconnects.push(r.attempt));
    const first = await t.opened;
    t.write('export MARK=kept-$((1+1))\r');
    await t.ping();
    proxy.cutAll();
    await eventually(() => sessions.length === 2, 20_000, 'the reconnect');
    assert.deepEqual(sessions[1], { ...sessions[1], id: first.id, resumed: true });
    assert.deepEqual(reconnects, [1]);
    // Typed while reconnecting or after: the same shell, which still has the variable.
    t.write('echo "mark=$MARK"\r');
    await eventually(() => out().includes('mark=kept-2'), 20_000, 'the same shell answering');
    await t.close();
  });

  it('the shell exiting ends it with an exit message; detach leaves the session to attach to', async () => {
    const t = client.terminal();
    await t.opened;
    t.write('exit 7\r');
    const closed = await t.closed;
    assert.equal(closed.code, 1000);
    assert.equal(closed.exit?.exitCode, 7);
    assert.equal(closed.exit?.reason, 'exit');

    const a = client.terminal();
    const { id } = await a.opened;
    a.write('export WHO=first\r');
    await a.ping();
    assert.notEqual((await a.detach()).code, 1000);
    assert.equal((await client.terminals()).terminals.find((x) => x.id === id)?.clients, 0);
    const b = client.terminal({ session: id });
    const out = screen(b);
    assert.equal((await b.opened).resumed, true);
    b.write('echo "who=$WHO"\r');
    await eventually(() => out().includes('who=first'), 20_000, 'the detached shell');
    await b.close();
  });

  it('an abort signal detaches, once, even before the connection opened', async () => {
    const closes: number[] = [];
    const early = client.terminal({ signal: AbortSignal.abort() });
    early.on('closed', (c) => closes.push(c.code));
    assert.equal((await early.closed).code, 4000);
    await assert.rejects(early.opened, /closed before its session opened/);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(closes, [4000]);

    const ac = new AbortController();
    const t = client.terminal({ signal: ac.signal });
    const { id } = await t.opened;
    ac.abort();
    assert.equal((await t.closed).code, 4000);
    assert.equal((await client.terminals()).terminals.find((x) => x.id === id)?.clients, 0, 'detached, not ended');
    await client.endTerminal(id);
  });

  it('a session that is gone is final (4404), and a wrong key is refused before any WebSocket', async () => {
    const gone = client.terminal({ session: 'no-such-session' });
    await assert.rejects(gone.opened, /4404/);
    assert.equal((await gone.closed).code, 4404);
    const wrong = new AgentRuntimeClient({ url: s.url, key: 'wrong', WebSocket: WebSocket as unknown as WebSocketConstructor });
    const refused = wrong.terminal();
    await assert.rejects(refused.opened, /401/);
  });
});
