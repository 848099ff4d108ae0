// The Agent Runtime container, checked inside a real VS Code extension host (called by extension-suite.js
// while the server runs): the views are registered; a job started over HTTP shows in the Jobs view and its
// output editor follows it; Attach joins a terminal session and what is typed there reaches the shell; an
// ACP agent's permission request (policy `ask`) shows on its job and Approve answers it, so the agent goes on;
// a running job takes input, gives its id and is cancelled from its row; a persistent shell shows and ends.
const vscode = require('vscode');
const assert = require('node:assert/strict');
const path = require('node:path');
const WS = require(path.resolve(__dirname, '../../../node_modules/ws'));

const { eventually } = require('./eventually');

async function exec(url, key, body) {
  const res = await fetch(`${url}/exec`, { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  assert.equal(res.status, 202, JSON.stringify(json));
  return json.jobId;
}

/** Fires of a tree's onDidChangeTreeData, counted. */
function changes(tree) {
  const seen = { count: 0 };
  const sub = tree.onDidChangeTreeData(() => seen.count++);
  seen.dispose = () => sub.dispose();
  return seen;
}

exports.checkViews = async function checkViews(api, url, key) {
  const pkg = require(path.join(vscode.extensions.getExtension('agent-runtime.agent-runtime').extensionPath, 'package.json'));
  // Registered: each view of the manifest has the command VS Code makes for it, and the container opens.
  const views = pkg.contributes.views.agentRuntime.map((v) => v.id);
  assert.deepEqual(views, ['agentRuntime.jobs', 'agentRuntime.agents', 'agentRuntime.terminals', 'agentRuntime.shells']);
  const registered = new Set(await vscode.commands.getCommands(true));
  for (const id of views) assert.ok(registered.has(`${id}.focus`), `the view ${id} is registered`);
  await vscode.commands.executeCommand('workbench.view.extension.agentRuntime');
  await vscode.commands.executeCommand('agentRuntime.jobs.focus');

  // A job started over HTTP shows in the Jobs view (the view heard of it), running, and its output editor
  // follows it while it prints, to its end.
  const jobsChanged = changes(api.views.jobs);
  const id = await exec(url, key, { command: 'for i in 1 2 3 4 5 6; do echo "line $i"; sleep 0.4; done' });
  await eventually(() => jobsChanged.count > 0 && api.views.jobs.getChildren().includes(id), 'the job in the Jobs view', 10000);
  const item = api.views.jobs.getTreeItem(id);
  assert.match(String(item.label), /for i in 1 2 3/);
  assert.ok(['job.running', 'job.done'].includes(item.contextValue), item.contextValue);
  const uri = await vscode.commands.executeCommand('agentRuntime.openJobOutput', id);
  assert.equal(typeof uri, 'string');
  const doc = () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
  await eventually(() => doc(), 'the output editor');
  const first = doc().getText();
  assert.ok(
    vscode.window.visibleTextEditors.some((e) => e.document.uri.toString() === uri),
    'the output editor shows',
  );
  await eventually(
    () => doc().getText().includes('line 6') && /· completed · exit 0/.test(doc().getText()),
    `the editor to follow the job to its end (first: ${JSON.stringify(first)}, now: ${JSON.stringify(doc().getText())})`,
    20000,
  );
  assert.ok(!first.includes('line 6'), `the editor opened before the end and followed: ${JSON.stringify(first)}`);
  assert.equal(api.views.jobs.getTreeItem(id).contextValue, 'job.done');
  assert.match(String(api.views.jobs.getTreeItem(id).description), /^completed · .* · exit 0$/);
  jobsChanged.dispose();

  // Steering a running job from its row: input to its stdin, its id to the clipboard, Cancel.
  const steered = await exec(url, key, { command: 'read line; echo "got $line"; sleep 600' });
  await eventually(() => api.feed.job(steered)?.record.status === 'running', 'the steered job to run', 10000);
  assert.equal(await vscode.commands.executeCommand('agentRuntime.sendJobInput', steered, 'hello'), 'hello');
  await eventually(() => api.feed.job(steered).stdout.tail(1000, false).text.includes('got hello'), 'the input to reach the job', 10000);
  assert.equal(await vscode.commands.executeCommand('agentRuntime.copyJobId', steered), steered);
  assert.equal(await vscode.env.clipboard.readText(), steered);
  await vscode.commands.executeCommand('agentRuntime.cancelJob', steered);
  await eventually(() => api.views.jobs.getTreeItem(steered).contextValue === 'job.done', 'the cancelled job to show as done', 10000);
  assert.match(String(api.views.jobs.getTreeItem(steered).description), /^cancelled · /);

  // Shells: a persistent shell started over HTTP shows with its workdir; End ends it.
  const shellDir = vscode.workspace.workspaceFolders[0].uri.fsPath;
  await exec(url, key, { mode: 'persistent_shell', shell: 'bash', sessionKey: 'views-suite', workdir: shellDir, command: 'true' });
  await eventually(() => api.views.shells.getChildren().includes('views-suite'), 'the shell in the Shells view', 10000);
  assert.equal(api.views.shells.getTreeItem('views-suite').description, `bash · ${shellDir}`);
  assert.equal(await vscode.commands.executeCommand('agentRuntime.endShell', 'views-suite'), true);
  await eventually(() => !api.views.shells.getChildren().includes('views-suite'), 'the shell gone from the view', 10000);

  // Attach: a terminal session an agent opened; a VS Code terminal joins it, and what a person types there
  // runs in the session (the agent's client sees the answer).
  const agentSide = new WS(`${url.replace('http', 'ws')}/terminal/ws`, { headers: { 'X-API-Key': key } });
  let agentSaw = '';
  const sessionId = await new Promise((resolve, reject) => {
    agentSide.on('message', (d) => {
      const text = d.toString();
      if (text.startsWith('\u0000')) {
        const msg = JSON.parse(text.slice(1));
        if (msg.type === 'session') resolve(msg.id);
      } else agentSaw += text;
    });
    agentSide.on('error', reject);
  });
  await eventually(() => api.views.terminals.getChildren().includes(sessionId), 'the session in the Terminals view', 10000);
  const name = await vscode.commands.executeCommand('agentRuntime.attachTerminal', sessionId);
  const terminal = await eventually(() => vscode.window.terminals.find((t) => t.name === name), 'the attached terminal');
  await eventually(() => api.views.terminals.getTreeItem(sessionId).description?.startsWith('2 watching'), 'the attached terminal to join the session', 15000);
  terminal.sendText('echo $((6*7))');
  await eventually(() => /[\r\n]42\r?\n/.test(agentSaw), `the typed command's answer in the session; saw ${JSON.stringify(agentSaw)}`, 15000);
  assert.equal(await vscode.commands.executeCommand('agentRuntime.endTerminal', sessionId), true);
  await eventually(() => !api.views.terminals.getChildren().includes(sessionId), 'the session gone from the view', 10000);
  terminal.dispose();
  agentSide.close();

  // Approve: an ACP agent (the scripted test agent, on the official SDK) asks; the job shows it; Approve
  // answers with the agent's allow-once option and the agent goes on to the end of its turn.
  const agent = JSON.parse(process.env.AR_TEST_AGENT)
    .map((a) => JSON.stringify(a))
    .join(' ');
  const workdir = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const prompt = JSON.stringify([
    { permission: { toolCall: { toolCallId: 'edit-1', title: 'Edit a.txt', kind: 'edit', locations: [{ path: path.join(workdir, 'a.txt') }] } } },
  ]);
  const acpId = await exec(url, key, { mode: 'acp', agent, workdir, prompt, policy: 'ask', env: { TEST_AGENT_STATE_DIR: path.join(workdir, '.agent-state') } });
  await eventually(
    () => api.views.agents.getChildren().includes(acpId) && api.views.agents.getTreeItem(acpId).contextValue === 'job.asking.acp',
    'the request on its job in the Agents view',
    30000,
  );
  assert.match(String(api.views.agents.getTreeItem(acpId).description), /^asks: Edit a\.txt/);
  assert.deepEqual(api.feed.counts(), { running: 1, approvals: 1 });
  // Review (the notification's button) shows the job in the Agents view and opens its transcript.
  const reviewed = await vscode.commands.executeCommand('agentRuntime.reviewPermission', acpId);
  assert.match(reviewed, /transcript\.md$/);
  assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), reviewed);
  assert.equal(await vscode.commands.executeCommand('agentRuntime.approvePermission', acpId), 'once');
  await eventually(() => api.feed.job(acpId).isFinal(), 'the agent to go on and finish', 30000);
  const done = await (await fetch(`${url}/jobs/${acpId}`, { headers: { 'X-API-Key': key } })).json();
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.stdout, 'permission:selected:once');
  const transcriptUri = await vscode.commands.executeCommand('agentRuntime.openTranscript', acpId);
  const transcript = vscode.workspace.textDocuments.find((d) => d.uri.toString() === transcriptUri);
  assert.equal(transcript.languageId, 'markdown');
  // Open since Review, it follows the job: the decision and the end of the turn arrive in it.
  await eventually(
    () => /- Allowed \*\*Edit a\.txt\*\* \(once\)/.test(transcript.getText()) && /\*\*Stopped:\*\* end_turn/.test(transcript.getText()),
    `the transcript to show the decision and the end; it shows ${JSON.stringify(transcript.getText())}`,
    10000,
  );
  console.log('[suite] views checked');
};
