// The NDJSON transport on its own: framing, bounds and garbage, over real streams.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { Message } from 'vscode-jsonrpc/node';
import { InvalidLineError, LineTooLongError, NdjsonMessageReader, NdjsonMessageWriter } from '../../src/acp/ndjson';

function collect(reader: NdjsonMessageReader): { messages: Message[]; errors: Error[]; closed: Promise<void> } {
  const messages: Message[] = [];
  const errors: Error[] = [];
  const closed = new Promise<void>((r) => reader.onClose(() => r()));
  reader.onError((e) => errors.push(e));
  reader.listen((m) => {
    messages.push(m);
    reader.handled(m);
  });
  return { messages, errors, closed };
}

describe('NdjsonMessageReader', () => {
  it('splits messages across and within chunks, ignoring blank lines and CRLF', async () => {
    const input = new PassThrough();
    const reader = new NdjsonMessageReader(input);
    const { messages, errors, closed } = collect(reader);
    input.write('{"jsonrpc":"2.0","method":"a"}\n{"jsonrpc":"2.0",');
    input.write('"id":1,"result":{"x":"é"}}\r\n\n   \n{"jsonrpc":"2.0","id":2,"method":"b","params":{}}');
    input.end(); // the last message has no newline and still counts
    await closed;
    assert.deepEqual(errors, []);
    assert.deepEqual(messages, [
      { jsonrpc: '2.0', method: 'a' },
      { jsonrpc: '2.0', id: 1, result: { x: 'é' } },
      { jsonrpc: '2.0', id: 2, method: 'b', params: {} },
    ]);
  });

  it('drops a line over the bound without holding it, then reads on', async () => {
    const input = new PassThrough();
    const reader = new NdjsonMessageReader(input, { maxLineBytes: 1024 });
    const { messages, errors, closed } = collect(reader);
    input.write(`{"jsonrpc":"2.0","method":"big","params":"${'x'.repeat(600)}`);
    input.write(`${'x'.repeat(600)}"}\n{"jsonrpc":"2.0","method":"after"}\n`);
    input.end();
    await closed;
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof LineTooLongError);
    assert.match(errors[0].message, /longer than 1024 bytes/);
    assert.deepEqual(messages, [{ jsonrpc: '2.0', method: 'after' }]);
  });

  it('reports lines that are not JSON-RPC messages', async () => {
    const input = new PassThrough();
    const reader = new NdjsonMessageReader(input);
    const { messages, errors, closed } = collect(reader);
    input.end('Loading model...\n[1,2]\n{"hello":1}\n{"jsonrpc":"2.0","method":"ok"}\n');
    await closed;
    assert.equal(errors.length, 3);
    for (const e of errors) assert.ok(e instanceof InvalidLineError);
    assert.match(errors[0].message, /Loading model/);
    assert.deepEqual(messages, [{ jsonrpc: '2.0', method: 'ok' }]);
  });

  it('pauses its input while too much is read and not handled, and resumes once handled', async () => {
    const input = new PassThrough();
    const reader = new NdjsonMessageReader(input, { highWaterBytes: 64 * 1024 });
    const held: Message[] = [];
    reader.listen((m) => held.push(m));
    const line = `${JSON.stringify({ jsonrpc: '2.0', method: 'n', params: 'y'.repeat(1000) })}\n`;
    input.write(line.repeat(100));
    await new Promise((r) => setImmediate(r));
    assert.ok(input.isPaused(), 'input paused past the high-water mark');
    assert.ok(reader.pendingBytes > 64 * 1024);
    for (const m of held) reader.handled(m);
    assert.equal(reader.pendingBytes, 0);
    assert.ok(!input.isPaused(), 'input resumed once handled');
  });
});

describe('NdjsonMessageWriter', () => {
  it('writes one JSON message per line, and reports writes after close as errors', async () => {
    const output = new PassThrough();
    const writer = new NdjsonMessageWriter(output);
    const errors: Error[] = [];
    writer.onError(([e]) => errors.push(e));
    const chunks: string[] = [];
    output.on('data', (d) => chunks.push(String(d)));
    await writer.write({ jsonrpc: '2.0', method: 'x', params: { text: 'a\nb' } } as Message);
    await writer.write({ jsonrpc: '2.0', id: 3, result: null } as Message);
    assert.equal(chunks.join(''), '{"jsonrpc":"2.0","method":"x","params":{"text":"a\\nb"}}\n{"jsonrpc":"2.0","id":3,"result":null}\n');
    writer.end();
    await writer.write({ jsonrpc: '2.0', method: 'late' } as Message);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /stdin is closed/);
  });
});
