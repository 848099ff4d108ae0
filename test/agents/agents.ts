// The real agents of the suite (`npm run test:agents`) and the benchmark: pinned versions, installed once
// into a cache folder outside the repo (reused between runs), and how each runs offline against a
// scripted model server (see model-server.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelApi, ModelServer } from './model-server';

export type AgentName = 'copilot' | 'claude' | 'codex' | 'gemini';

export interface RealAgent {
  name: AgentName;
  pkg: string;
  version: string;
  /** The program in node_modules/.bin, and its arguments for ACP over stdio. */
  bin: string;
  args: string[];
  api: ModelApi;
  /** Variables that point it at the model server, with `home` its fresh HOME. */
  env(model: ModelServer, home: string): Record<string, string>;
}

export const REAL_AGENTS: Readonly<Record<AgentName, RealAgent>> = {
  copilot: {
    name: 'copilot',
    pkg: '@github/copilot',
    version: '1.0.102',
    bin: 'copilot',
    args: ['--acp', '--stdio'],
    api: 'anthropic',
    env: (m) => ({
      COPILOT_PROVIDER_BASE_URL: m.url,
      COPILOT_PROVIDER_TYPE: 'anthropic',
      COPILOT_PROVIDER_API_KEY: 'scripted-key',
      COPILOT_MODEL: 'claude-sonnet-4.5',
      COPILOT_AUTO_UPDATE: 'false',
    }),
  },
  claude: {
    name: 'claude',
    pkg: '@agentclientprotocol/claude-agent-acp',
    version: '0.101.0',
    bin: 'claude-agent-acp',
    args: [],
    api: 'anthropic',
    env: (m, home) => ({
      ANTHROPIC_BASE_URL: m.url,
      ANTHROPIC_API_KEY: 'scripted-key',
      // Claude Code refuses to run as root unless told it is sandboxed
      IS_SANDBOX: '1',
      CLAUDE_CONFIG_DIR: join(home, '.claude'),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
    }),
  },
  codex: {
    name: 'codex',
    pkg: '@zed-industries/codex-acp',
    version: '0.16.0',
    bin: 'codex-acp',
    args: [],
    api: 'openai',
    env: (m, home) => {
      const codexHome = join(home, '.codex');
      mkdirSync(codexHome, { recursive: true });
      writeFileSync(
        join(codexHome, 'config.toml'),
        [
          'model = "scripted"',
          'model_provider = "scripted"',
          '[model_providers.scripted]',
          'name = "scripted"',
          `base_url = "${m.url}/v1"`,
          'env_key = "SCRIPTED_API_KEY"',
          'wire_api = "responses"',
          '',
        ].join('\n'),
      );
      return { CODEX_HOME: codexHome, SCRIPTED_API_KEY: 'scripted-key' };
    },
  },
  gemini: {
    name: 'gemini',
    pkg: '@google/gemini-cli',
    version: '0.61.0',
    bin: 'gemini',
    args: ['--acp'],
    api: 'gemini',
    env: (m) => ({ GOOGLE_GEMINI_BASE_URL: m.url, GEMINI_API_KEY: 'scripted-key', GEMINI_CLI_TRUST_WORKSPACE: 'true' }),
  },
};

/** Where the agents are installed: `$AGENT_RUNTIME_AGENTS_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/agent-runtime-agents`. */
export function agentCache(): string {
  return process.env.AGENT_RUNTIME_AGENTS_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'agent-runtime-agents');
}

function installDir(a: RealAgent): string {
  return join(agentCache(), `${a.name}-${a.version}`);
}

/** The agent's program, if its pinned version is installed. */
export function installedBin(a: RealAgent): string | undefined {
  const dir = installDir(a);
  const bin = join(dir, 'node_modules', '.bin', a.bin);
  try {
    return readFileSync(join(dir, '.installed'), 'utf8') === `${a.pkg}@${a.version}` && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** Installs the pinned version unless it is there already; throws, saying why, when npm fails. */
export function installAgent(a: RealAgent): string {
  const ready = installedBin(a);
  if (ready) return ready;
  const dir = installDir(a);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const spec = `${a.pkg}@${a.version}`;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', spec], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) throw new Error(`npm install ${spec} into ${dir} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).slice(-2000)}`);
  writeFileSync(join(dir, '.installed'), spec);
  const bin = installedBin(a);
  if (!bin) throw new Error(`npm installed ${spec} into ${dir} but node_modules/.bin/${a.bin} is missing`);
  return bin;
}

/** A fresh HOME and TMPDIR for one agent run. */
export function freshHome(): { home: string; tmp: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'agent-run-'));
  const home = join(root, 'home');
  const tmp = join(root, 'tmp');
  mkdirSync(home);
  mkdirSync(tmp);
  return { home, tmp, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The command line that launches the agent (as a job's `agent`). */
export function commandLine(a: RealAgent, bin: string): string {
  return [bin, ...a.args].map((x) => JSON.stringify(x)).join(' ');
}
