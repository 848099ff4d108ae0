// Self-update as the Windows CLI does it: `agent-server --wrapper` supervises the server under Windows Node,
// and on POST /update runs the update command through cmd.exe, then starts the server again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../helpers/server';
import { tempDir, winPath, WineMachine } from './wine';

let machine: WineMachine;
before(() => {
  machine = new WineMachine();
});
after(() => machine?.shutdown());

test('--wrapper: POST /update runs the update command (a quoted path with spaces, as an npm prefix has) and restarts the server', async () => {
  const dir = join(tempDir(), 'John Smith');
  mkdirSync(dir);
  const marker = join(dir, 'updated.txt');
  writeFileSync(join(dir, 'bump.cmd'), '@echo %~1> "%~dp0updated.txt"\r\n');
  // Starts and ends with a quoted word, as `npm install -g … --prefix "C:\Users\John Smith\…"` ends with one.
  const update = `"${winPath(join(dir, 'bump.cmd'))}" "to the latest"`;
  const wrapper = await machine.startServer(['--wrapper', '--update-command', update]);
  const first = wrapper.url;
  const r = await wrapper.call('POST', '/update');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // The redirect makes the file before echo writes into it: wait for its words.
  await eventually(() => existsSync(marker) && readFileSync(marker, 'utf8').trim() === 'to the latest', 60_000, 'the update command to run');
  const second = await eventually(
    () => [...wrapper.stderr().matchAll(/listening on (http:\/\/\S+)/g)].map((m) => m[1]).find((u) => u !== first),
    60_000,
    'the server to start again',
  );
  const health = await fetch(`${second}/health`);
  assert.equal(health.status, 200);
});
