// Our headless client against echo-agent.ts: one prompt, the workdir-scoped policy, events as they come.
//   npx tsx examples/acp/run-client.ts "hello there"
// Point `agent` at a real agent instead (`copilot`, `claude`, `gemini`… or any command line).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAcpSession, WorkdirApprove } from '../../src/acp';

async function main() {
  const workdir = mkdtempSync(join(tmpdir(), 'acp-example-'));
  const result = await runAcpSession({
    // Argv form: no shell involved. tsx runs the TypeScript agent.
    agent: [process.execPath, '--import', require.resolve('tsx'), join(__dirname, 'echo-agent.ts')],
    prompt: process.argv[2] ?? 'hello from the example',
    workdir,
    timeoutMs: 60_000,
    policy: new WorkdirApprove(),
    onEvent: (e) => {
      if (e.type === 'permission') console.error(`[permission] ${e.decision} ${e.toolCallId}: ${e.reason}`);
      if (e.type === 'fs') console.error(`[fs] ${e.op} ${e.path} ${e.allowed ? 'allowed' : 'denied'}`);
    },
  });
  console.log(`text:        ${result.outputText.trim()}`);
  console.log(`stop reason: ${result.stopReason}${result.error ? ` (${result.error})` : ''}`);
  console.log(`session:     ${result.sessionId}`);
  console.log(`tool calls:  ${result.toolCalls.map((t) => `${t.title} [${t.status}]`).join(', ')}`);
  console.log(`echo.txt:    ${readFileSync(join(workdir, 'echo.txt'), 'utf8').trim()}`);
  rmSync(workdir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
