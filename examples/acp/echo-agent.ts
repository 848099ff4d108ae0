// A tiny ACP agent on the official SDK: streams its answer word by word, asks before it writes a file,
// then writes it through the client (`fs/write_text_file`). Run by run-client.ts; any ACP client works.
import * as acp from '@agentclientprotocol/sdk';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';

let cwd = process.cwd();

const app = acp
  .agent({ name: 'echo-agent' })
  .onRequest('initialize', () => ({ protocolVersion: acp.PROTOCOL_VERSION, agentCapabilities: {}, agentInfo: { name: 'echo-agent', version: '1.0.0' } }))
  .onRequest('session/new', ({ params }) => {
    cwd = params.cwd;
    return { sessionId: `echo-${Date.now()}` };
  })
  .onRequest('session/prompt', async ({ params, client }) => {
    const { sessionId } = params;
    const said = params.prompt.map((b) => (b.type === 'text' ? b.text : '')).join(' ');
    for (const word of `You said: ${said}`.split(' ')) {
      await client.notify('session/update', { sessionId, update: { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: `${word} ` } } });
    }
    const path = join(cwd, 'echo.txt');
    const toolCall = { toolCallId: 'write-1', title: 'Write echo.txt', kind: 'edit' as const, locations: [{ path }] };
    await client.notify('session/update', { sessionId, update: { sessionUpdate: 'tool_call', status: 'pending', ...toolCall } });
    const answer = await client.request('session/request_permission', {
      sessionId,
      toolCall: { toolCallId: toolCall.toolCallId },
      options: [
        { optionId: 'yes', name: 'Allow', kind: 'allow_once' },
        { optionId: 'no', name: 'Reject', kind: 'reject_once' },
      ],
    });
    const allowed = answer.outcome.outcome === 'selected' && answer.outcome.optionId === 'yes';
    if (allowed) await client.request('fs/write_text_file', { sessionId, path, content: `${said}\n` });
    await client.notify('session/update', {
      sessionId,
      update: { sessionUpdate: 'tool_call_update', toolCallId: toolCall.toolCallId, status: allowed ? 'completed' : 'failed' },
    });
    return { stopReason: 'end_turn' };
  });

app.connect(acp.ndJsonStream(Writable.toWeb(process.stdout) as WritableStream<Uint8Array>, Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>));
