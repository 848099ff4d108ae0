// `mode: "acp"`: one prompt to an ACP agent, as a job. The agent's text (and the live output of the commands
// it runs, where it streams them) is the job's stdout, its
// stderr the job's stderr, every ACP event a job event (`acp` on the stream), and the session id, stop
// reason and error are the job's ACP fields (docs/API.md, docs/acp.md).
import type { RouteSpec } from '../../http/route-spec';
import {
  AGENT_PRESETS,
  DEFAULT_AGENT,
  DEFAULT_PERMISSION_DEADLINE_MS,
  DenyAll,
  InteractivePolicy,
  WorkdirApprove,
  resolveAgent,
  describeAgent,
  describeMcpServers,
  parseMcpServers,
  McpServersError,
  runAcpSession,
  turnText,
  type AcpEvent,
  type AcpLimits,
  type AcpResult,
  type PermissionPolicy,
  type TerminalFactory,
} from '../../../acp';
import type { McpServer } from '../../../acp/protocol';
import { BadRequest } from '../../errors';
import { VERSION } from '../../version';
import type { SessionTerminal, SessionTerminalRequest } from '../persistent-shell/terminal-hook';
import { PermissionDesk } from './permissions';
import type { CancelReason, CommonSpec, JobContext, JobOutcome, ModeRunner, RunningJob } from '../../jobs/types';
import { optionalString } from '../../jobs/validate';

export type AcpPolicyName = 'workdir' | 'deny' | 'ask';
const POLICIES: readonly AcpPolicyName[] = ['workdir', 'deny', 'ask'];

export interface AcpSpec extends CommonSpec {
  /** As given (a preset name or a command line); `[acp] <agent>` is the job's command. */
  agent: string;
  prompt: string;
  sessionId?: string;
  model?: string;
  effort?: string;
  acpMode?: string;
  policy: AcpPolicyName;
  persistentSessionKey?: string;
  persistentShell?: string;
  /** MCP servers lent to the agent (ACP's shapes, checked); none when empty. */
  mcpServers: McpServer[];
}

export interface AcpRunnerOptions {
  /** Between TERM and KILL of the agent's process group, ms (the server's `killGraceMs`). */
  killGraceMs: number;
  /** How long an `ask` request waits for a person before it is rejected, ms. Default 10 min; 1 s–24 h. */
  permissionDeadlineMs?: number;
  /** The agent of jobs that name none (a preset or a command line). Default the seed's `copilot --acp --stdio`. */
  defaultAgent?: string;
  /** The policy of jobs that name none. Default `workdir`. */
  defaultPolicy?: AcpPolicyName;
  /** The client's other limits (see docs/acp.md); `maxEvents` is 0 since the job keeps every event. */
  limits?: Partial<AcpLimits>;
  /**
   * Routes the agent's `terminal/create` into the named persistent shell of `persistent_session_key`
   * (docs/API.md). Without it, such jobs run terminals as fresh processes and say so in an event.
   */
  persistentTerminals?: (key: string, shell: string | undefined, ctx: JobContext) => TerminalFactory;
}

/** Characters of the prompt kept in the job's record (its `prompt` field), for lists and transcripts. */
export const PROMPT_KEPT_CHARS = 1000;

export class AcpRunner implements ModeRunner<AcpSpec> {
  readonly mode = 'acp' as const;
  /** Pending `ask` requests; hosts with a person at hand (the editor) listen to its `request` events. */
  readonly permissions = new PermissionDesk();
  private readonly defaultAgent: string;
  private readonly deadlineMs: number;

  constructor(private readonly options: AcpRunnerOptions) {
    this.deadlineMs = options.permissionDeadlineMs ?? DEFAULT_PERMISSION_DEADLINE_MS;
    this.defaultAgent = options.defaultAgent || DEFAULT_AGENT;
  }

  parse(body: Record<string, unknown>, common: CommonSpec): AcpSpec {
    const agent = (optionalString(body, 'agent') ?? this.defaultAgent).trim();
    if (!agent || agent.includes('\0')) throw new BadRequest('agent must be a preset name or a command line', { agents: Object.keys(AGENT_PRESETS) });
    // Some seed clients put the prompt in `command`.
    const prompt = optionalString(body, 'prompt') ?? optionalString(body, 'command');
    if (!prompt) throw new BadRequest('prompt is required for mode "acp"');
    const policy = optionalString(body, 'policy') ?? this.options.defaultPolicy ?? 'workdir';
    if (!POLICIES.includes(policy as AcpPolicyName)) throw new BadRequest(`policy must be one of: ${POLICIES.join(', ')}`);
    const nonEmpty = (name: string) => optionalString(body, name) || undefined;
    let mcpServers: McpServer[];
    try {
      mcpServers = parseMcpServers(body.mcpServers);
    } catch (err) {
      if (err instanceof McpServersError) throw new BadRequest(err.message);
      throw err;
    }
    return {
      ...common,
      agent,
      prompt,
      sessionId: nonEmpty('acp_session_id'),
      model: nonEmpty('model'),
      effort: nonEmpty('effort'),
      acpMode: nonEmpty('acp_mode'),
      policy: policy as AcpPolicyName,
      persistentSessionKey: nonEmpty('persistent_session_key'),
      persistentShell: nonEmpty('persistent_shell'),
      mcpServers,
    };
  }

  describe(spec: AcpSpec) {
    return {
      command: `[acp] ${spec.agent}`,
      fields: {
        agent: spec.agent,
        agentCommand: describeAgent(resolveAgent(spec.agent)),
        prompt: spec.prompt.length > PROMPT_KEPT_CHARS ? `${spec.prompt.slice(0, PROMPT_KEPT_CHARS)}…` : spec.prompt,
        policy: spec.policy,
        acpSessionId: spec.sessionId ?? null,
        stopReason: null,
        acpError: null,
        ...(spec.persistentSessionKey ? { persistentSessionKey: spec.persistentSessionKey } : {}),
        ...(spec.mcpServers.length > 0 ? { mcpServers: describeMcpServers(spec.mcpServers) } : {}),
      },
    };
  }

  start(spec: AcpSpec, ctx: JobContext): RunningJob {
    const controller = new AbortController();
    let spawned = false;
    let exited = false;
    const onEvent = (e: AcpEvent) => {
      const { type, ...data } = e;
      ctx.event(type, data);
      // the job's text: the agent's answer, and the output of the commands it runs as they stream
      const text = turnText(e) || (e.type === 'agent_terminal' && e.op === 'output' ? (e.data ?? '') : '');
      if (text) ctx.appendStdout(text);
      if (e.type === 'lifecycle' && e.stage === 'spawn') {
        spawned = true;
        ctx.setPid(typeof e.pid === 'number' ? e.pid : undefined);
      }
      if (e.type === 'lifecycle' && e.stage === 'exit') exited = true;
      if (e.type === 'lifecycle' && e.stage === 'session') ctx.setFields({ acpSessionId: e.sessionId, ...(e.lost ? { acpSessionLost: e.lost } : {}) });
    };
    if (spec.policy === 'ask') {
      this.permissions.open(
        ctx.jobId,
        (pendingPermissions) => ctx.setFields({ pendingPermissions }),
        (request) => ctx.event('permission_request', request),
      );
    }
    const done = runAcpSession({
      agent: resolveAgent(spec.agent),
      workdir: spec.workdir,
      baseEnv: ctx.env,
      prompt: spec.prompt,
      sessionId: spec.sessionId,
      model: spec.model,
      effort: spec.effort,
      mode: spec.acpMode,
      mcpServers: spec.mcpServers,
      policy: this.policyFor(spec, ctx),
      terminalFactory: this.terminalsFor(spec, ctx),
      clientInfo: { name: 'agent-runtime', version: VERSION },
      limits: { killGraceMs: this.options.killGraceMs, ...this.options.limits, maxEvents: 0 },
      signal: controller.signal,
      onEvent,
      onStderr: (chunk) => ctx.appendStderr(chunk),
    })
      .then((result) => outcomeOf(result))
      .finally(() => {
        exited = true;
        this.permissions.close(ctx.jobId);
      });
    return {
      done,
      alive: () => spawned && !exited,
      cancel: (reason: CancelReason) => controller.abort(reason === 'timeout' ? 'timeout' : 'cancelled'),
      write: () => ({ ok: false, reason: 'an ACP job has no stdin; permission requests are answered at /jobs/{id}/permissions/{requestId}' }),
    };
  }

  routes(): RouteSpec[] {
    return this.permissions.routes();
  }

  health(): Record<string, unknown> {
    return { acp_default_agent: this.defaultAgent, acp_agents: Object.keys(AGENT_PRESETS) };
  }

  private policyFor(spec: AcpSpec, ctx: JobContext): PermissionPolicy {
    if (spec.policy === 'deny') return new DenyAll();
    if (spec.policy === 'workdir') return new WorkdirApprove();
    return new InteractivePolicy((p) => this.permissions.ask(ctx.jobId, p, this.deadlineMs), { deadlineMs: this.deadlineMs });
  }

  private terminalsFor(spec: AcpSpec, ctx: JobContext): TerminalFactory | undefined {
    if (!spec.persistentSessionKey) return undefined;
    if (this.options.persistentTerminals) return this.options.persistentTerminals(spec.persistentSessionKey, spec.persistentShell, ctx);
    ctx.event('notice', {
      level: 'warning',
      message: `persistent shells are not available on this server; the agent's terminals for "${spec.persistentSessionKey}" run as fresh processes`,
    });
    return undefined;
  }
}

/**
 * Runs the agent's terminals in the persistent shell named by the job's `persistent_session_key` (and
 * `persistent_shell`), through the persistent shells' terminal hook.
 */
export function persistentShellTerminals(shells: {
  openTerminal(req: SessionTerminalRequest): SessionTerminal;
}): NonNullable<AcpRunnerOptions['persistentTerminals']> {
  return (sessionKey, shell) => (launch) => {
    const t = shells.openTerminal({
      sessionKey,
      shell,
      command: launch.command,
      args: launch.args,
      cwd: launch.cwd,
      env: launch.env,
      outputByteLimit: launch.outputByteLimit,
    });
    return { output: () => t.output(), waitForExit: () => t.waitForExit(), kill: async () => t.kill(), release: async () => t.release() };
  };
}

/** The seed's statuses: `completed` for `end_turn`, `timeout` past the deadline, else `failed`. */
function outcomeOf(r: AcpResult): JobOutcome {
  const fields = {
    acpSessionId: r.sessionId,
    stopReason: r.stopReason,
    acpError: r.error,
    toolCalls: r.toolCalls.map(({ toolCallId, title, kind, status, locations }) => ({ toolCallId, title, kind, status, locations })),
    ...(r.usage ? { usage: r.usage } : {}),
    ...(r.contextUsage ? { contextUsage: r.contextUsage } : {}),
  };
  if (r.stopReason === 'end_turn') return { status: 'completed', endReason: 'exit', exitCode: 0, fields };
  if (r.stopReason === 'timeout') return { status: 'timeout', endReason: 'timeout', exitCode: null, fields };
  if (r.stopReason === 'error') return { status: 'failed', endReason: 'error', exitCode: null, error: r.error ?? 'the ACP session failed', fields };
  return { status: 'failed', endReason: r.stopReason === 'cancelled' ? 'cancelled' : 'exit', exitCode: null, fields };
}
