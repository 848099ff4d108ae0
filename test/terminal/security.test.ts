// What a terminal must not give away or hold on to: the API key in its shell's environment, and a session
// whose client closed it on purpose (CONTRACT §4, §8). Real server, real PTYs, real `ws` clients.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY_ENV_NAMES } from '../../src/server/auth';
import { KEY, TermClient, openTerminal, startServer, waitUntil, type TestServer } from './helpers';

const servers: TestServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function server(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

test('a terminal shell does not inherit the API key from the server, under any of its names', async () => {
  const saved = API_KEY_ENV_NAMES.map((name) => process.env[name]);
  for (const name of API_KEY_ENV_NAMES) process.env[name] = KEY; // as the CLI runs: the key in its environment
  try {
    const srv = await server();
    const c = await openTerminal(srv);
    c.type(`echo "keys:[$AGENT_RUNTIME_API_KEY$DEVPILOT_AGENT_API_KEY$agent_runtime_API_KEY]"; env | grep -c -- '${KEY}'; echo "done:[$((6*7))]"\r`);
    await c.waitFor(/done:\[42\]/);
    assert.match(c.output, /keys:\[\]/, 'no key variable is set in the shell');
    assert.match(c.output, /^0\s*$/m, 'the key appears nowhere in the environment');
    await c.close();
  } finally {
    API_KEY_ENV_NAMES.forEach((name, i) => (saved[i] === undefined ? delete process.env[name] : (process.env[name] = saved[i])));
  }
});

test('a close without a code (1005) ends the session like 1000; a 1001 or a drop keeps it for a reconnect', async () => {
  const srv = await server({ maxSessions: 2 });
  // `ws.close()` with no code, twice: each ends its shell, so the limit of 2 never locks anyone out.
  for (let i = 0; i < 3; i++) {
    const c = await openTerminal(srv);
    c.ws.close();
    await c.closed;
    await waitUntil(
      () => srv.service.sessionCount() === 0,
      10_000,
      () => `close without a code left ${srv.service.sessionCount()} session(s)`,
    );
  }

  const tab = await openTerminal(srv);
  await tab.close(1001); // a tab closing
  const dropped = await openTerminal(srv);
  await dropped.drop();
  await waitUntil(
    () => srv.service.list().every((s) => s.clients === 0),
    10_000,
    () => 'clients never detached',
  );
  assert.equal(srv.service.sessionCount(), 2, '1001 and a drop both keep their shells');
  for (const id of [tab.sessionId, dropped.sessionId]) {
    const again = new TermClient(`${srv.wsBase}/terminal/ws?session=${id}`, { 'x-api-key': KEY });
    const session = await again.waitForControl('session');
    assert.equal(session.resumed, true);
    again.ws.close();
    await again.closed;
  }
  await waitUntil(
    () => srv.service.sessionCount() === 0,
    10_000,
    () => 'the resumed sessions, closed without a code, did not end',
  );
});
