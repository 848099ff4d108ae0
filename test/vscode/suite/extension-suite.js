// Runs INSIDE a real VS Code extension host (see test/vscode/extension.vscode.test.ts): `vscode` is the
// real API. It drives the extension as a person and a client would, and throws on the first failure.
const vscode = require('vscode');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const WebSocket = require(path.resolve(__dirname, '../../../node_modules/ws'));

const EXTENSION_ID = 'agent-runtime.agent-runtime';

const { eventually } = require('./eventually');

async function get(url, key) {
  const res = await fetch(url, { headers: key ? { 'X-API-Key': key } : {} });
  return { status: res.status, body: await res.json() };
}

/** Opens a terminal through the server, types a command, and resolves with the output that shows the answer. */
function terminalAnswer(url, key) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/terminal/ws`, { headers: { 'X-API-Key': key } });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no answer from the terminal; saw: ${JSON.stringify(out)}`)), 20000);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('\u0000')) {
        const msg = JSON.parse(text.slice(1));
        if (msg.type === 'session') ws.send(JSON.stringify({ type: 'input', data: 'echo $((6*7))\r' }));
        return;
      }
      out += text;
      if (/[\r\n]42\r?\n/.test(out)) {
        clearTimeout(timer);
        ws.close(1000);
        resolve(out);
      }
    });
    ws.on('error', reject);
  });
}

/** Starts a long job and returns the pid of its process, once it runs. */
async function runningJobPid(url, key) {
  const pidFile = path.join(require('node:os').tmpdir(), `ar-suite-${process.pid}.pid`);
  const res = await fetch(`${url}/exec`, {
    method: 'POST',
    headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ command: `echo $$ > ${pidFile}; exec sleep 600` }),
  });
  assert.equal(res.status, 202);
  const pid = await eventually(() => fs.existsSync(pidFile) && Number(fs.readFileSync(pidFile, 'utf8').trim()), 'the job to start');
  assert.ok(alive(pid));
  return pid;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

exports.run = async function run() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is loaded`);
  const api = await ext.activate();
  const c = api.controller;
  await eventually(() => c.info().state === 'running', 'the server to start');
  const url = c.info().url;
  console.log(`[suite] server on ${url}`);

  // The key shown by the command is the one kept in SecretStorage, and the server takes it.
  const key = await vscode.commands.executeCommand('agentRuntime.showApiKey');
  assert.equal(typeof key, 'string');
  assert.ok(key.length >= 32);
  assert.equal(key, await c.key());
  assert.deepEqual((await get(`${url}/health`)).body, { status: 'ok', authenticated: false });
  const health = (await get(`${url}/health`, key)).body;
  assert.equal(health.authenticated, true);
  assert.deepEqual(health.execution_modes.sort(), ['acp', 'persistent_shell', 'shell']);

  // The MCP endpoint is served in the editor too: a tools/list answers with the tools (docs/mcp.md).
  assert.ok(health.capabilities.includes('mcp'), `health names mcp: ${health.capabilities}`);
  const mcp = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(mcp.status, 200, 'POST /mcp tools/list');
  const tools = (await mcp.json()).result.tools.map((t) => t.name);
  for (const name of ['run_command', 'read_job', 'read_file', 'run_agent', 'read_terminal_screen'])
    assert.ok(tools.includes(name), `/mcp lists ${name}: ${tools}`);

  // A workspace extension: VS Code runs it beside the workspace (on the remote machine, in a remote window
  // such as this one, whose UI is a browser), so the server serves the machine the workspace is on.
  assert.equal(ext.extensionKind, vscode.ExtensionKind.Workspace);
  assert.equal(vscode.env.uiKind, vscode.UIKind.Web);
  assert.ok(fs.existsSync(vscode.workspace.workspaceFolders[0].uri.fsPath), 'the workspace is on the machine the server runs on');
  console.log(`[suite] VS Code ${vscode.version}, remoteName ${vscode.env.remoteName}, appHost ${vscode.env.appHost}`);

  // Open Web Terminal: the browser showing the editor is not on the server's machine, so the command opens
  // the URL the editor forwards the server's port to (asExternalUri), and the page works through it.
  const external = await vscode.commands.executeCommand('agentRuntime.openWebTerminal');
  assert.equal(typeof external, 'string');
  const forwarded = new URL(external);
  assert.notEqual(forwarded.port, String(c.info().port), `the editor forwarded the port: ${external}`);
  const forwardedPage = await fetch(external);
  assert.equal(forwardedPage.status, 200, `GET ${external}`);
  assert.match(await forwardedPage.text(), /terminal\/assets\/terminal\.js/);
  const forwardedScript = new URL('terminal/assets/terminal.js', external).href;
  assert.equal((await fetch(forwardedScript)).status, 200, `GET ${forwardedScript}`);
  // The page's terminal socket is relative to the page, so it goes through the forwarding too.
  assert.ok(forwarded.pathname.endsWith('/terminal'), external);
  await terminalAnswer(external.slice(0, -'/terminal'.length), key);

  // No tunnel yet: the command says so (and returns null).
  assert.equal(await vscode.commands.executeCommand('agentRuntime.showTunnelUrl'), null);
  // Start Tunnel (a stand-in devtunnel CLI on PATH: the service is unreachable here) tunnels the server's
  // port on this machine; the URL shown is the tunnel's own, not one the editor forwards.
  const tunnelUrl = await vscode.commands.executeCommand('agentRuntime.startTunnel');
  const callsLog = path.join(process.env.FAKE_DT_DIR, 'calls.log');
  assert.ok(tunnelUrl, `a tunnel URL; PATH ${process.env.PATH}; calls: ${fs.existsSync(callsLog) && fs.readFileSync(callsLog, 'utf8')}`);
  assert.match(tunnelUrl, new RegExp(`^https://[\\w-]+-${c.info().port}\\.\\w+\\.devtunnels\\.ms$`));
  assert.equal(await vscode.commands.executeCommand('agentRuntime.showTunnelUrl'), tunnelUrl);
  const calls = fs.readFileSync(callsLog, 'utf8');
  assert.ok(calls.includes(`"-p","${c.info().port}"`), `the tunnel forwards the server's port; calls: ${calls}`);
  const hostPid = Number(fs.readFileSync(path.join(process.env.FAKE_DT_DIR, 'host.pids'), 'utf8').trim().split('\n').pop());
  assert.ok(alive(hostPid), 'the tunnel host runs');

  // The terminal runs on VS Code's own node-pty.
  assert.equal(health.terminal_supported, true);
  assert.equal(health.terminal_pty, 'host', `VS Code's node-pty was used (health: ${JSON.stringify(health)})`);
  await terminalAnswer(url, key);
  // The web terminal's page and script, served from where VS Code installed the extension.
  const page = await fetch(`${url}/terminal`);
  assert.equal(page.status, 200, 'GET /terminal');
  assert.equal((await fetch(`${url}/terminal/assets/terminal.js`)).status, 200, 'GET /terminal/assets/terminal.js');
  assert.ok(ext.extensionPath.includes(`${path.sep}.vscode${path.sep}`), `installed under a hidden folder: ${ext.extensionPath}`);

  // Rotation: the old key is refused at once, the new one works.
  const rotated = await vscode.commands.executeCommand('agentRuntime.rotateApiKey', { confirm: false });
  assert.notEqual(rotated, key);
  assert.equal((await get(`${url}/jobs`, key)).status, 401);
  assert.equal((await get(`${url}/jobs`, rotated)).status, 200);
  assert.equal(await vscode.commands.executeCommand('agentRuntime.showApiKey'), rotated);

  // The Agent Runtime container: its views, and the actions a person takes on what they show.
  await require('./views-checks').checkViews(api, url, rotated);

  // Every command of the manifest is registered.
  const pkg = require(path.join(ext.extensionPath, 'package.json'));
  const registered = new Set(await vscode.commands.getCommands(true));
  for (const { command } of pkg.contributes.commands) assert.ok(registered.has(command), `${command} is registered`);

  // Stop: the port closes.
  await vscode.commands.executeCommand('agentRuntime.stopServer');
  assert.equal(c.info().state, 'stopped');
  await eventually(() => !alive(hostPid), `the tunnel host ${hostPid} to end with the server`, 10000);
  await assert.rejects(fetch(`${url}/health`), 'the port is closed after Stop Server');
  await eventually(() => api.views.jobs.getChildren().length === 0, 'the Jobs view to empty with the server (its welcome shows)', 5000);
  await vscode.commands.executeCommand('agentRuntime.startServer');
  const url2 = c.info().url;
  assert.equal((await get(`${url2}/health`, rotated)).body.authenticated, true);

  // Deactivate (what VS Code calls on shutdown, reload or uninstall) ends running jobs and closes the port.
  const pid = await runningJobPid(url2, rotated);
  await require(path.join(ext.extensionPath, pkg.main)).deactivate();
  await assert.rejects(fetch(`${url2}/health`), 'the port is closed after deactivate');
  await eventually(() => !alive(pid), `the job's process ${pid} to end`, 10000);
  console.log('[suite] all checks passed');
};
