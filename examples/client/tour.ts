// A tour of the typed client against a running server: a command streamed as it runs, a file up and
// down, and a terminal. Start a server (`agent-server`), then:
//   AGENT_RUNTIME_URL=http://127.0.0.1:8585 AGENT_RUNTIME_API_KEY=$(agent-server key) npx tsx examples/client/tour.ts
import { AgentRuntimeClient, AgentRuntimeError, type WebSocketConstructor } from 'agent-runtime/client';
import WebSocket from 'ws';

async function main() {
  const client = new AgentRuntimeClient({
    url: process.env.AGENT_RUNTIME_URL ?? 'http://127.0.0.1:8585',
    key: process.env.AGENT_RUNTIME_API_KEY ?? '',
    // Node 20 has no global WebSocket; browsers and Node ≥ 22 need no such line.
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  const health = await client.health();
  console.log(`server:   agent-runtime ${health.version} on ${health.hostname}`);

  // A command, its output as it comes (the stream resumes by itself if the connection drops).
  const { jobId } = await client.exec({ command: 'for i in 1 2 3; do echo "tick $i"; sleep 0.1; done' });
  for await (const event of client.stream(jobId)) {
    if (event.event === 'stdout') process.stdout.write(`stdout:   ${event.data.text.replaceAll('\n', ' ')}\n`);
    if (event.event === 'end') console.log(`job:      ${event.data.status}, exit code ${event.data.exitCode}`);
  }

  // A file up and down, and a version check that refuses a stale write.
  const path = `${health.cwd}/agent-runtime-tour.txt`;
  const written = await client.files.write(path, 'hello from the tour\n');
  console.log(`file:     ${(await client.files.readText(path)).trim()} (${written.size} bytes)`);
  await client.files.write(path, 'changed\n', { ifMatch: written.etag }); // still that version: replaced
  await client.files.write(path, 'again\n', { ifMatch: written.etag }).catch((err: unknown) => {
    if (!(err instanceof AgentRuntimeError)) throw err;
    console.log(`conflict: ${err.status} ${err.body.error}`); // changed since: refused
  });
  await client.files.delete(path);

  // A terminal: what it prints is what xterm.js would be given.
  const terminal = client.terminal({ cols: 100, rows: 30 });
  let screen = '';
  terminal.on('data', (text) => (screen += text));
  await terminal.opened;
  terminal.write('echo "terminal: $((6 * 7))"\r');
  while (!/terminal: 42/.test(screen)) await new Promise((r) => setTimeout(r, 50));
  console.log('terminal: 42');
  await terminal.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
