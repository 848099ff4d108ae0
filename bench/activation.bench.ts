// The extension's cost to VS Code's startup, measured in the real VS Code (code-server 1.139, headless
// chromium; scripts/setup-vscode-test.sh installs them), from the extension host's own timings (VS Code's
// "Startup Performance" document: load code, call activate, finish activate):
//   - the packaged extension, installed from its .vsix, activated by VS Code on `onStartupFinished`;
//   - the baseline, in the same run: an empty extension with the same activation event, whose
//     activation is VS Code's own cost of activating anything;
// rounds interleaved, medians. Target: under 300 ms added. Also: the server is not yet running when
// activation has finished (it starts after `activate` returns), and how long it then takes to serve.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../test/helpers/server';
import { packageVsix } from '../test/helpers/vsix';
import { freePort, LATEST, runInVsCode, vscodeInstalled } from '../test/vscode/run-in-vscode';
import { line, median, ms } from './lib';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_MS = 300;
const SUITE = resolve(__dirname, 'vscode/activation-suite.js');
const EXTENSION_ID = 'agent-runtime.agent-runtime';
const EMPTY_ID = 'bench.empty';

interface Times {
  'Load Code': number;
  'Call Activate': number;
  'Finish Activate': number;
  Event: string;
}
interface Sample {
  times: Times;
  stateWhenActive?: string;
  serverReadyMs?: number;
}

const total = (t: Times) => t['Load Code'] + t['Call Activate'] + t['Finish Activate'];

/** An extension that does nothing, activated on the same event as ours. */
function emptyExtension(dir: string): string {
  const ext = join(dir, 'empty-extension');
  mkdirSync(ext, { recursive: true });
  const manifest = {
    name: 'empty',
    publisher: 'bench',
    version: '0.0.1',
    engines: { vscode: '^1.90.0' },
    main: './extension.js',
    activationEvents: ['onStartupFinished'],
  };
  writeFileSync(join(ext, 'package.json'), JSON.stringify(manifest));
  writeFileSync(join(ext, 'extension.js'), 'exports.activate = () => {};\n');
  return ext;
}

async function measure(extension: { vsix: string } | { extensionFolder: string }, id: string, work: string): Promise<Sample> {
  const workspace = join(work, `ws-${Date.now()}`);
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'agentRuntime.port': await freePort() }));
  try {
    const { exitCode, log } = await runInVsCode({
      ...extension,
      install: LATEST,
      extensionTestsPath: SUITE,
      workspace,
      env: { AR_BENCH_EXTENSION: id },
      timeoutMs: 180_000,
    });
    const found = log.map((l) => /\[bench\] (\{.*\})/.exec(l)?.[1]).find(Boolean);
    if (exitCode !== 0 || !found) throw new Error(`the activation suite failed (${exitCode}); console:\n${log.join('\n')}`);
    return JSON.parse(found) as Sample;
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

async function main() {
  const missing = vscodeInstalled(LATEST);
  if (missing) throw new Error(missing);
  const work = tempDir('ar-bench-activation-');
  const vsix = packageVsix();
  try {
    const empty = emptyExtension(work);
    const ours: Sample[] = [];
    const base: Sample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      base.push(await measure({ extensionFolder: empty }, EMPTY_ID, work));
      ours.push(await measure({ vsix: vsix.file }, EXTENSION_ID, work));
      const o = ours[round]!.times;
      const b = base[round]!.times;
      console.log(
        `  round ${round + 1}: ours ${total(o)} ms (load ${o['Load Code']}, call ${o['Call Activate']}, finish ${o['Finish Activate']}); empty ${total(b)} ms`,
      );
    }
    console.log(`\nactivation in ${LATEST.name}, ${ROUNDS} rounds, medians (VS Code's own timings)`);
    const col = (s: Sample[], k: keyof Times) => median(s.map((x) => x.times[k] as number));
    for (const k of ['Load Code', 'Call Activate', 'Finish Activate'] as const)
      line(`${k}, agent-runtime`, ms(col(ours, k)), `empty extension: ${ms(col(base, k))}`);
    const oursTotal = median(ours.map((s) => total(s.times)));
    const baseTotal = median(base.map((s) => total(s.times)));
    const added = oursTotal - baseTotal;
    line('activation, agent-runtime', ms(oursTotal));
    line('activation, empty extension (baseline)', ms(baseTotal), `ratio ${(oursTotal / Math.max(baseTotal, 1)).toFixed(1)}x`);
    line('added by agent-runtime', ms(added), `target < ${TARGET_MS} ms: ${added < TARGET_MS ? 'met' : 'MISSED'}`);
    const states = [...new Set(ours.map((s) => s.stateWhenActive))].join(', ');
    line('server state first seen once active', states, '(never running: it starts after activate returns)');
    line('then serving after', ms(median(ours.map((s) => s.serverReadyMs ?? NaN))));
    if (ours.some((s) => s.stateWhenActive === 'running'))
      throw new Error('the server was running as soon as the extension was active: activation waited for it');
    if (added >= TARGET_MS) process.exitCode = 1;
  } finally {
    vsix.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
