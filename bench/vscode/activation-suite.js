// Runs INSIDE a real VS Code extension host (see bench/activation.bench.ts). It waits until VS Code has
// activated the extension named by AR_BENCH_EXTENSION on its own (onStartupFinished; activating it from
// here would time this call, not VS Code's), then reads VS Code's own activation timings from its
// "Startup Performance" document and prints them as one `[bench] {...}` line.
const vscode = require('vscode');

const { eventually } = require('../../test/vscode/suite/eventually');

/** Activation is measured in milliseconds: poll often, and give a loaded machine a minute. */
const waitFor = (check, what) => eventually(check, what, 60000, 20);

/** The row of `id` in the "Extension Activation Stats" table: { 'Load Code': ms, 'Call Activate': ms, ... }. */
function activationRow(text, id) {
  const rows = text
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  const header = rows.find((r) => r.includes('Load Code') && r.includes('Finish Activate'));
  const row = rows.find((r) => r[0] === id);
  if (!header || !row) return undefined;
  return Object.fromEntries(header.map((name, i) => [name, /^\d+(\.\d+)?$/.test(row[i]) ? Number(row[i]) : row[i]]));
}

exports.run = async function run() {
  const id = process.env.AR_BENCH_EXTENSION;
  const ext = vscode.extensions.getExtension(id);
  if (!ext) throw new Error(`${id} is not loaded`);
  await waitFor(() => ext.isActive, `VS Code to activate ${id}`);
  const activeAt = performance.now();
  const controller = ext.exports && ext.exports.controller;
  const stateWhenActive = controller ? controller.info().state : undefined;
  let serverReadyMs;
  if (controller) {
    await waitFor(() => controller.info().state === 'running', 'the server to run');
    serverReadyMs = performance.now() - activeAt;
  }
  // Developer: Startup Performance opens it in the editor; the extension host then sees it too.
  let lastError;
  await vscode.commands.executeCommand('perfview.show');
  const doc = await waitFor(
    () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'perf') ||
      vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'perf', path: 'Startup Performance' })).then(
        (d) => d,
        (err) => void (lastError = err),
      ),
    'the Startup Performance document',
  ).catch((err) => {
    throw new Error(`${err.message}: ${lastError}`);
  });
  const times = await waitFor(() => activationRow(doc.getText(), id), `${id} in the activation stats`);
  console.log(`[bench] ${JSON.stringify({ id, vscode: vscode.version, times, stateWhenActive, serverReadyMs })}`);
};
