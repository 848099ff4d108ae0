// A streaming client in its own process, for the streaming guard tests (test/core/streams.test.ts,
// test/terminal/streams.test.ts): a fast reader must not share the test's event loop, or the test's own
// latency samples would measure it.
// Prints one JSON line with what it received, then exits.
//
//   node stream-client.mjs sse URL KEY [lines]   reads a job's SSE stream to its `end` as fast as it can and
//                                                checks it: stdout offsets contiguous, `acp` events numbered
//                                                0, 1, 2, …, and with `lines` stdout lines counting up from 1
//                                                (the output of `seq`)
//   node stream-client.mjs ws URL KEY SECONDS    reads a terminal WebSocket as fast as it can for SECONDS
//   node stream-client.mjs ws-until URL KEY TEXT reads a terminal WebSocket until TEXT has arrived
import WebSocket from 'ws';

const [mode, url, key, arg] = process.argv.slice(2);

async function sse() {
  const started = Date.now();
  const res = await fetch(url, { headers: { 'X-API-Key': key } });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  const out = { stdoutBytes: 0, stdoutContiguous: true, lines: 0, linesInOrder: true, events: 0, eventsInOrder: true, ended: false, end: null };
  let tail = '';
  const decoder = new TextDecoder();
  let buf = '';
  const onEvent = (event, data) => {
    if (event === 'stdout') {
      const { text, offset } = JSON.parse(data);
      if (offset !== out.stdoutBytes) out.stdoutContiguous = false;
      out.stdoutBytes = offset + Buffer.byteLength(text);
      if (arg !== 'lines') return;
      const lines = (tail + text).split('\n');
      tail = lines.pop();
      for (const line of lines) {
        out.lines++;
        if (Number(line) !== out.lines) out.linesInOrder = false;
      }
    } else if (event === 'acp') {
      if (JSON.parse(data).seq !== out.events) out.eventsInOrder = false;
      out.events++;
    } else if (event === 'end') {
      out.ended = true;
      out.end = JSON.parse(data).status;
    }
  };
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let from = 0;
    let sep;
    while ((sep = buf.indexOf('\n\n', from)) >= 0) {
      let event = 'message';
      let data = '';
      for (const line of buf.slice(from, sep).split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(event, data);
      from = sep + 2;
    }
    buf = buf.slice(from);
  }
  out.ms = Date.now() - started;
  return out;
}

async function ws(until) {
  const socket = new WebSocket(url, { headers: { 'x-api-key': key } });
  let bytes = 0;
  let seen = '';
  let found = false;
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', resolve);
    socket.on('message', (data) => {
      bytes += data.length;
      if (until === undefined || data[0] === 0) return;
      seen += data.toString();
      if (seen.includes(until)) {
        found = true;
        socket.terminate();
      }
      // Enough of the text to find the marker across frames.
      seen = seen.slice(-until.length);
    });
    if (until === undefined) setTimeout(() => socket.terminate(), Number(arg) * 1000);
  });
  return { bytes, found };
}

const result = mode === 'sse' ? await sse() : await ws(mode === 'ws-until' ? arg : undefined);
process.stdout.write(`${JSON.stringify(result)}\n`);
