// `npm run test:agents`: installs the pinned agents into the cache (once; a failed install fails the run),
// then runs the real-agent suite (test/agents/*.agents.ts) with an empty HOME of its own, as `npm test` does.
// Arguments narrow it by test name: `npm run test:agents -- Codex`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_AGENTS, agentCache, installAgent, installedBin } from './agents';

const cache = agentCache();
for (const agent of Object.values(REAL_AGENTS)) {
  const t0 = Date.now();
  const had = installedBin(agent);
  try {
    installAgent(agent);
  } catch (err) {
    console.error(`test:agents: ${(err as Error).message}`);
    process.exit(1);
  }
  console.log(`test:agents: ${agent.pkg}@${agent.version} ${had ? 'in the cache' : `installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`} (${cache})`);
}
const files = readdirSync(__dirname)
  .filter((f) => f.endsWith('.agents.ts'))
  .map((f) => join(__dirname, f));
const home = mkdtempSync(join(tmpdir(), 'ar-agents-home-'));
// `npm run test:agents -- Codex` runs only the tests whose names match
const only = process.argv.slice(2).map((p) => `--test-name-pattern=${p}`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', ...only, ...files], {
  stdio: 'inherit',
  env: { ...process.env, HOME: home, AGENT_RUNTIME_AGENTS_CACHE: cache },
});
rmSync(home, { recursive: true, force: true });
process.exit(r.status ?? 1);
