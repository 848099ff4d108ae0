// The headless ACP client: one agent process and one session, driven turn by turn. `start` launches the
// agent, initializes, authenticates when needed, opens (or continues) the session and applies its
// settings; `prompt` runs a turn; `cancel` ends a turn as CONTRACT §5 says; `close` ends everything.
import { ResponseError } from 'vscode-jsonrpc/node';
import { AgentProcess, describeExit } from './agent-process';
import { DEFAULT_AGENT, describeAgent, resolveAgent, type AgentCommand } from './agents';
import { ByteTail } from './byte-tail';
import { findConfigOption, matchValue, optionValues, pick, type Setting } from './config-options';
import { ChannelFailure, RpcChannel } from './connection';
import { EventRing, type AcpEvent, type EventListener, type PermissionEvent, type UpdatePhase } from './events';
import { FileAccess, type MissingFileAnswer } from './fs';
import { describeAuthMethods, loginHintFor } from './logins';
import { AgentTerminals } from './terminal-meta';
import { resolveLimits, type AcpLimits } from './limits';
import { Workdir } from './paths';
import { DenyAll, pickOption, type PermissionContext, type PermissionDecision, type PermissionPolicy } from './policies';
import {
  AgentMethod,
  ClientMethod,
  ErrorCode,
  LEGACY_SET_MODEL,
  PROTOCOL_VERSION,
  type AuthMethod,
  type ClientCapabilities,
  type ContentBlock,
  type InitializeResponse,
  type NewSessionResponse,
  type PermissionOption,
  type PromptResponse,
  type RequestPermissionRequest,
  type RequestPermissionResponse,
  type McpServer,
  type SessionConfigOption,
  type SessionModeState,
  type SessionNotification,
  type StopReason,
  type Usage,
} from './protocol';
import { TerminalManager, type TerminalFactory } from './terminals';
import { unsupportedMcpServers } from './mcp-servers';
import { ToolCallTracker, type ToolCallRecord } from './tool-calls';

export interface AcpClientOptions {
  /** A preset name (`copilot`, `claude`…), a command line (run by the platform shell), or argv. */
  agent?: AgentCommand;
  /** The session's cwd and the bound of file access and permission approvals. Default: process.cwd(). */
  workdir?: string;
  /** Variables laid over `baseEnv` for the agent and its terminals. */
  env?: Record<string, string>;
  /** Default: process.env. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Answers permission requests. Default: `DenyAll`. */
  policy?: PermissionPolicy;
  /** Every event, as it happens. */
  onEvent?: EventListener;
  /** The agent's stderr, as it comes (a bounded tail is kept regardless). */
  onStderr?: (chunk: Buffer) => void;
  /** The `authenticate` method to use when the agent requires one; default: one usable without a person. */
  authMethod?: string;
  /**
   * What to serve the agent (and advertise in `clientCapabilities`). Default: all of it. `terminalOutput`
   * advertises `_meta.terminal_output`, so agents show their own commands' output live (`agent_terminal` events).
   */
  serve?: { readTextFile?: boolean; writeTextFile?: boolean; terminal?: boolean; terminalOutput?: boolean };
  /**
   * How `fs/read_text_file` answers for a file that does not exist: `error` (-32002), `empty` (empty content,
   * as Zed does), or `auto` (the default): `empty` for agents known to need it to create files (Gemini CLI).
   */
  missingFile?: MissingFileAnswer | 'auto';
  /** Makes terminals for `terminal/create` (e.g. in a persistent shell). Default: a fresh process each. */
  terminalFactory?: TerminalFactory;
  clientInfo?: { name: string; version: string };
  limits?: Partial<AcpLimits>;
}

/** Which session to use and how to set it up. */
export interface SessionOptions {
  /** Continue this session (`session/load`, else `session/resume`); a new one if neither can. */
  sessionId?: string;
  model?: string;
  effort?: string;
  /** The agent's session mode (e.g. `default`, `read-only`). */
  mode?: string;
  /**
   * MCP servers lent to the agent for the session (`session/new`, `session/load`, `session/resume`); http
   * and sse ones only if the agent declares it takes them, else `start` fails saying so (mcp-servers.ts).
   */
  mcpServers?: McpServer[];
}

export interface SessionInfo {
  sessionId: string;
  how: 'new' | 'load' | 'resume';
  /** The session asked for that could not be continued, and why. */
  lost?: { sessionId: string; reason: string };
}

/** The agent's stop reasons, plus ours: the deadline passed, or the session broke. */
export type FinalStopReason = StopReason | 'timeout' | 'error';

export interface TurnResult {
  stopReason: FinalStopReason;
  outputText: string;
  /** Bytes of agent text dropped from the start (over `maxOutputTextBytes`). */
  outputDroppedBytes: number;
  thoughtText: string;
  toolCalls: ToolCallRecord[];
  /** Token usage, where the agent reports it with its answer. */
  usage: Usage | null;
  /** The last context-window report (`usage_update`), where given. */
  contextUsage: { used: number; size: number; cost?: unknown } | null;
  error?: string;
}

/** A failure with the stop reason it stands for (`error`, or `timeout`/`cancelled` for an abort). */
export class AcpError extends Error {
  constructor(
    message: string,
    readonly stopReason: FinalStopReason = 'error',
  ) {
    super(message);
    this.name = 'AcpError';
  }
}

interface Turn {
  cancelReason?: 'cancelled' | 'timeout';
  permissions: AbortController;
  graceTimer?: NodeJS.Timeout;
  killedMessage?: string;
}

const DEFAULT_CLIENT_INFO = { name: 'agent-runtime', version: '0' };

/**
 * Agents (by `agentInfo.name`) that read a file before writing it and cannot tell an error code from
 * another (their ACP library hands them the error as a plain object): a missing file is empty content to them.
 */
const EMPTY_FOR_MISSING: ReadonlySet<string> = new Set(['gemini-cli']);

/**
 * Agents (by `agentInfo.name`) whose default mode decides on its own whether to run a tool (Claude Code's
 * `auto` asks a model to classify each action), and their mode that asks the client instead.
 */
const ASKING_MODE: Readonly<Record<string, string>> = { '@agentclientprotocol/claude-agent-acp': 'default' };

export class AcpClient {
  readonly limits: AcpLimits;
  readonly workdir: Workdir;
  private readonly policy: PermissionPolicy;
  private readonly env: NodeJS.ProcessEnv;
  private readonly events: EventRing;
  private readonly output: ByteTail;
  private readonly thoughts: ByteTail;
  private readonly tools: ToolCallTracker;
  private readonly agentTerminals: AgentTerminals;
  private readonly closeController = new AbortController();
  private agent: AgentProcess | undefined;
  private channel: RpcChannel | undefined;
  private terminals: TerminalManager | undefined;
  private phase: UpdatePhase = 'setup';
  private turn: Turn | undefined;
  private init: InitializeResponse | undefined;
  private session: SessionInfo | undefined;
  private configOptions: SessionConfigOption[] | null | undefined;
  private modes: SessionModeState | null | undefined;
  private legacyModels: { modelId: string; name?: string }[] | undefined;
  private contextUsage: TurnResult['contextUsage'] = null;
  private authenticated = false;
  private permissionSeq = 0;
  private closing: Promise<void> | undefined;
  private exitWatch: Promise<void> | undefined;

  constructor(private readonly opts: AcpClientOptions = {}) {
    this.limits = resolveLimits(opts.limits);
    this.workdir = new Workdir(opts.workdir ?? process.cwd());
    this.policy = opts.policy ?? new DenyAll();
    this.env = { ...(opts.baseEnv ?? process.env), ...opts.env };
    this.events = new EventRing(this.limits.maxEvents);
    this.output = new ByteTail(this.limits.maxOutputTextBytes);
    this.thoughts = new ByteTail(this.limits.maxOutputTextBytes);
    this.tools = new ToolCallTracker(this.limits.maxToolCalls);
    this.agentTerminals = new AgentTerminals((e) => this.emit(e), this.limits.terminalOutputBytes);
  }

  get sessionId(): string | undefined {
    return this.session?.sessionId;
  }

  get sessionInfo(): SessionInfo | undefined {
    return this.session;
  }

  get agentInfo(): InitializeResponse | undefined {
    return this.init;
  }

  get pid(): number | undefined {
    return this.agent?.pid;
  }

  alive(): boolean {
    return this.agent?.alive() ?? false;
  }

  /** The most recent events (at most `maxEvents`) and how many there were. */
  recentEvents(): { events: AcpEvent[]; total: number } {
    return { events: this.events.list(), total: this.events.total };
  }

  /** The agent's stderr tail. */
  stderr(): string {
    return this.agent?.stderr.text() ?? '';
  }

  /**
   * Launches the agent and readies the session. Rejects with an `AcpError` (the agent failed, needs a
   * login, refused a setting…) or, when `signal` aborts, one whose stopReason is the abort's reason
   * (`timeout` or `cancelled`). Call `close` either way.
   */
  async start(session: SessionOptions = {}, signal?: AbortSignal): Promise<SessionInfo> {
    if (this.agent) throw new Error('this client was started already');
    const command = resolveAgent(this.opts.agent ?? DEFAULT_AGENT);
    const agent = new AgentProcess(command, {
      cwd: this.workdir.root,
      env: this.env,
      stderrTailBytes: this.limits.stderrTailBytes,
      onStderr: this.opts.onStderr,
    });
    this.agent = agent;
    const channel = new RpcChannel(agent.child.stdout!, agent.child.stdin!, {
      maxLineBytes: this.limits.maxLineBytes,
      highWaterBytes: this.limits.highWaterBytes,
      invalidLineTolerance: this.limits.invalidLineTolerance,
      onNotice: (level, message) => this.emit({ type: 'notice', level, message }),
      onFailure: () => void agent.kill(this.limits.killGraceMs),
    });
    this.channel = channel;
    this.serve(channel);
    channel.listen();
    this.emit({ type: 'lifecycle', stage: 'spawn', command: describeAgent(command), pid: agent.pid ?? null });
    this.exitWatch = this.watchExit(agent, channel);

    this.init = await this.initialize(channel, signal);
    if (this.opts.authMethod && (this.init.authMethods?.length ?? 0) > 0) await this.authenticate(channel, signal);
    this.session = await this.openSession(channel, session, signal);
    await this.configure(channel, session, signal);
    return this.session;
  }

  /** Runs one turn. Never rejects for the agent's failures: they come back as `stopReason: 'error'`. */
  async prompt(prompt: string | ContentBlock[], opts: { signal?: AbortSignal } = {}): Promise<TurnResult> {
    const channel = this.channel;
    const sessionId = this.session?.sessionId;
    if (!channel || !sessionId) throw new Error('start the client before prompting');
    if (this.turn) throw new Error('a turn is already running');
    this.output.clear();
    this.thoughts.clear();
    this.tools.clear();
    this.agentTerminals.clear();
    const turn: Turn = { permissions: new AbortController() };
    this.turn = turn;
    this.phase = 'turn';
    const onAbort = () => this.cancel(abortReason(opts.signal));
    let stopReason: FinalStopReason;
    let usage: Usage | null = null;
    let error: string | undefined;
    try {
      this.emit({ type: 'lifecycle', stage: 'prompt', sessionId });
      const blocks: ContentBlock[] = typeof prompt === 'string' ? [{ type: 'text', text: prompt }] : prompt;
      const answer = channel.request<PromptResponse & { usage?: Usage | null }>(AgentMethod.sessionPrompt, { sessionId, prompt: blocks });
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      const res = await answer;
      const reason = typeof res?.stopReason === 'string' ? (res.stopReason as StopReason) : undefined;
      stopReason = turn.cancelReason === 'timeout' ? 'timeout' : (reason ?? 'error');
      if (!reason) error = 'the agent answered session/prompt without a stopReason';
      usage = res?.usage ?? null;
    } catch (err) {
      stopReason = turn.cancelReason ?? 'error';
      error = turn.killedMessage ?? errorMessage(err);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      clearTimeout(turn.graceTimer);
      turn.permissions.abort();
      this.turn = undefined;
      this.phase = 'setup';
    }
    this.emit({ type: 'lifecycle', stage: 'stop', stopReason, ...(error ? { error } : {}) });
    return {
      stopReason,
      outputText: this.output.text(),
      outputDroppedBytes: this.output.dropped,
      thoughtText: this.thoughts.text(),
      toolCalls: this.tools.list(),
      usage,
      contextUsage: this.contextUsage,
      ...(error ? { error } : {}),
    };
  }

  /**
   * Ends the running turn: `session/cancel`, open permission requests answered `cancelled`, then the
   * agent has `cancelGraceMs` to answer the prompt before its process group is killed.
   */
  cancel(reason: 'cancelled' | 'timeout' = 'cancelled'): void {
    const turn = this.turn;
    const channel = this.channel;
    if (!turn || turn.cancelReason || !channel) return;
    turn.cancelReason = reason;
    this.emit({ type: 'lifecycle', stage: 'cancel', reason });
    channel.notify(AgentMethod.sessionCancel, { sessionId: this.session?.sessionId });
    turn.permissions.abort();
    turn.graceTimer = setTimeout(() => {
      turn.killedMessage = `the agent did not end the turn within ${this.limits.cancelGraceMs} ms of session/cancel (cancelGraceMs); its process group was killed`;
      this.emit({ type: 'lifecycle', stage: 'kill', reason: turn.killedMessage });
      channel.fail(new ChannelFailure(turn.killedMessage));
    }, this.limits.cancelGraceMs);
  }

  /** Ends the agent's process group, its terminals, and the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeController.abort();
      if (this.turn) clearTimeout(this.turn.graceTimer);
      await this.terminals?.closeAll();
      this.channel?.dispose();
      const agent = this.agent;
      if (agent) {
        agent.child.stdin?.end();
        await agent.kill(this.limits.killGraceMs);
        // Its last events (the exit) belong to this session's record.
        await this.exitWatch;
      }
    })();
    return this.closing;
  }

  private emit(event: AcpEvent): void {
    this.events.push(event);
    try {
      this.opts.onEvent?.(event);
    } catch {
      // a listener's failure must not break the conversation with the agent
    }
  }

  /** When the agent dies, everything pending fails with how it ended (after what it said was handled). */
  private async watchExit(agent: AgentProcess, channel: RpcChannel): Promise<void> {
    const exit = await agent.exited;
    await Promise.race([agent.stdoutEnded, delay(1000)]);
    await channel.drained();
    this.emit({ type: 'lifecycle', stage: 'exit', code: exit.code, signal: exit.signal });
    const stderr = agent.stderrExcerpt(300);
    channel.fail(new ChannelFailure(`the agent ${describeExit(exit)}${stderr ? `; its stderr ends with: ${stderr}` : ''}`));
  }

  // ---- the client side of the protocol, served to the agent

  private capabilities(): ClientCapabilities {
    const s = this.opts.serve ?? {};
    return {
      fs: { readTextFile: s.readTextFile ?? true, writeTextFile: s.writeTextFile ?? true },
      terminal: s.terminal ?? true,
      ...((s.terminalOutput ?? true) ? { _meta: { terminal_output: true } } : {}),
    };
  }

  private serve(channel: RpcChannel): void {
    const caps = this.capabilities();
    channel.onNotification(ClientMethod.sessionUpdate, (p: SessionNotification) => this.onUpdate(p));
    channel.onRequest(ClientMethod.requestPermission, (p: RequestPermissionRequest) => this.onPermission(p));
    const emit = (e: AcpEvent) => this.emit(e);
    if (caps.fs?.readTextFile || caps.fs?.writeTextFile) {
      const files = new FileAccess(this.workdir, this.limits.maxReadBytes, emit, () => this.missingFileAnswer());
      if (caps.fs.readTextFile) channel.onRequest(ClientMethod.readTextFile, (p) => files.read(p));
      if (caps.fs.writeTextFile) channel.onRequest(ClientMethod.writeTextFile, (p) => files.write(p));
    }
    if (caps.terminal) {
      const t = new TerminalManager({
        workdir: this.workdir,
        env: this.env,
        factory: this.opts.terminalFactory,
        maxTerminals: this.limits.maxTerminals,
        maxOutputBytes: this.limits.terminalOutputBytes,
        killGraceMs: this.limits.killGraceMs,
        emit,
      });
      this.terminals = t;
      channel.onRequest(ClientMethod.terminalCreate, (p) => t.create(p));
      channel.onRequest(ClientMethod.terminalOutput, (p) => t.output(p));
      channel.onRequest(ClientMethod.terminalWaitForExit, (p) => t.waitForExit(p));
      channel.onRequest(ClientMethod.terminalKill, (p) => t.kill(p));
      channel.onRequest(ClientMethod.terminalRelease, (p) => t.release(p));
    }
  }

  private missingFileAnswer(): MissingFileAnswer {
    const wanted = this.opts.missingFile ?? 'auto';
    if (wanted !== 'auto') return wanted;
    return EMPTY_FOR_MISSING.has(String(this.init?.agentInfo?.name ?? '')) ? 'empty' : 'error';
  }

  private onUpdate(params: SessionNotification): void {
    const update = params?.update as { sessionUpdate?: unknown; [k: string]: unknown } | undefined;
    if (!update || typeof update !== 'object' || typeof update.sessionUpdate !== 'string') {
      this.emit({ type: 'notice', level: 'error', message: 'the agent sent a session/update without an update' });
      return;
    }
    const phase = this.phase;
    this.emit({ type: 'update', phase, update: update as { sessionUpdate: string } });
    if (phase !== 'replay') this.track(update as { sessionUpdate: string; [k: string]: unknown }, phase);
  }

  private track(update: { sessionUpdate: string; [k: string]: unknown }, phase: UpdatePhase): void {
    switch (update.sessionUpdate) {
      case 'agent_message_chunk':
        if (phase === 'turn') this.output.append(textOf(update.content));
        break;
      case 'agent_thought_chunk':
        if (phase === 'turn') this.thoughts.append(textOf(update.content));
        break;
      case 'tool_call':
      case 'tool_call_update':
        if (typeof update.toolCallId === 'string') {
          this.tools.apply(update as unknown as { toolCallId: string });
          this.agentTerminals.onToolCall(update.toolCallId, update._meta);
        }
        break;
      case 'usage_update':
        if (typeof update.used === 'number' && typeof update.size === 'number') {
          this.contextUsage = { used: update.used, size: update.size, ...(update.cost != null ? { cost: update.cost } : {}) };
        }
        break;
      case 'config_option_update':
        if (Array.isArray(update.configOptions)) this.configOptions = update.configOptions as SessionConfigOption[];
        break;
      case 'current_mode_update':
        if (typeof update.currentModeId !== 'string') {
          this.emit({ type: 'notice', level: 'warning', message: 'the agent sent a current_mode_update without a currentModeId; ignored' });
        } else if (this.modes?.availableModes?.length && !this.modes.availableModes.some((m) => m.id === update.currentModeId)) {
          this.emit({
            type: 'notice',
            level: 'warning',
            message: `the agent switched to mode "${update.currentModeId}", which it never offered; kept as the current mode`,
          });
          this.modes = { ...this.modes, currentModeId: update.currentModeId };
        } else if (this.modes) this.modes = { ...this.modes, currentModeId: update.currentModeId };
        break;
    }
  }

  private async onPermission(params: RequestPermissionRequest): Promise<RequestPermissionResponse> {
    const call = params?.toolCall;
    if (!call || typeof call.toolCallId !== 'string') throw new ResponseError(ErrorCode.invalidParams, 'toolCall.toolCallId is required');
    const options: PermissionOption[] = Array.isArray(params.options) ? params.options.filter((o) => o && typeof o.optionId === 'string') : [];
    const record = { ...this.tools.apply(call) };
    const reach = this.tools.reachOf(call.toolCallId);
    const cwds = unique([...reach.cwds].map((c) => this.workdir.locate(c).path));
    const base = cwds[0] ?? this.workdir.root;
    const paths = unique([...[...reach.paths].map((p) => this.workdir.locate(p, base).path), ...cwds]);
    const turn = this.turn;
    const signal = AbortSignal.any([this.closeController.signal, ...(turn ? [turn.permissions.signal] : [])]);
    const ctx: PermissionContext = {
      requestId: `perm-${++this.permissionSeq}`,
      sessionId: params.sessionId,
      toolCall: record,
      paths,
      cwds,
      options,
      workdir: this.workdir.root,
      signal,
    };
    let decision: PermissionDecision;
    if (signal.aborted) decision = { outcome: 'cancelled', reason: 'the turn was cancelled' };
    else {
      try {
        decision = await this.policy.decide(ctx);
      } catch (err) {
        decision = { outcome: 'reject', reason: `the policy failed: ${errorMessage(err)}` };
      }
      if (signal.aborted) decision = { outcome: 'cancelled', reason: 'the turn was cancelled while deciding' };
    }
    const { response, event } = answerPermission(decision, options);
    this.emit({ ...event, toolCallId: record.toolCallId, title: record.title, kind: record.kind, paths, options, policy: this.policy.name });
    return response;
  }

  // ---- setting up

  private async initialize(channel: RpcChannel, signal?: AbortSignal): Promise<InitializeResponse> {
    const res = await this.step(
      channel.request<InitializeResponse>(AgentMethod.initialize, {
        protocolVersion: PROTOCOL_VERSION,
        clientCapabilities: this.capabilities(),
        clientInfo: this.opts.clientInfo ?? DEFAULT_CLIENT_INFO,
      }),
      signal,
      'initialize',
    ).catch((err) => {
      throw asAcpError(err, 'initialize');
    });
    if (typeof res?.protocolVersion !== 'number') throw new AcpError('the agent answered initialize without a protocolVersion');
    if (res.protocolVersion !== PROTOCOL_VERSION) {
      throw new AcpError(`the agent speaks ACP protocol version ${res.protocolVersion}; this client speaks ${PROTOCOL_VERSION}`);
    }
    const caps = res.agentCapabilities ?? {};
    this.emit({
      type: 'lifecycle',
      stage: 'initialize',
      agentInfo: res.agentInfo ?? null,
      loadSession: caps.loadSession ?? false,
      resumeSession: caps.sessionCapabilities?.resume != null,
      authMethods: (res.authMethods ?? []).map((m) => m.id),
    });
    return res;
  }

  private async authenticate(channel: RpcChannel, signal?: AbortSignal): Promise<void> {
    const methods = this.init?.authMethods ?? [];
    const method = chooseAuthMethod(methods, this.opts.authMethod);
    if (!method) throw new AcpError(this.loginNeeded(methods));
    try {
      await this.step(channel.request(AgentMethod.authenticate, { methodId: method }), signal, 'authenticate');
    } catch (err) {
      if (err instanceof AcpError) throw err;
      throw new AcpError(`authentication with "${method}" failed: ${errorMessage(err)}`);
    }
    this.authenticated = true;
    this.emit({ type: 'lifecycle', stage: 'authenticate', methodId: method });
  }

  /**
   * The mode in which a known agent asks before it acts, when its default mode decides on its own (so the
   * permission policy, not the agent, decides); only when no mode was asked for and the agent offers it.
   */
  private askingMode(): string | undefined {
    const mode = ASKING_MODE[String(this.init?.agentInfo?.name ?? '')];
    if (!mode) return undefined;
    const option = findConfigOption(this.configOptions, 'mode');
    const offered = option ? optionValues(option).map((v) => v.value) : (this.modes?.availableModes ?? []).map((m) => m.id);
    const current = option ? option.currentValue : this.modes?.currentModeId;
    if (!offered.includes(mode) || current === mode) return undefined;
    this.emit({
      type: 'notice',
      level: 'warning',
      message: `the agent's mode "${String(current)}" acts without asking; mode "${mode}" is set so that the permission policy decides (name acp_mode to choose)`,
    });
    return mode;
  }

  /** Why the agent cannot be used yet: which agent, the methods it offers, and what to run or set. */
  private loginNeeded(methods: AuthMethod[]): string {
    const info = this.init?.agentInfo;
    const command = describeAgent(resolveAgent(this.opts.agent ?? DEFAULT_AGENT));
    const agent = info?.name ? `${info.title ?? info.name}${info.version ? ` ${info.version}` : ''} (${command})` : command;
    const hint = loginHintFor(`${info?.name ?? ''} ${info?.title ?? ''}`, command);
    const how = hint
      ? `log it in on this machine, as the user the server runs as: ${hint.run ? `run ${hint.run}, or ` : ''}set ${hint.set} (in the server's environment or the job's env)`
      : "log it in on this machine, as the user the server runs as, or set its API key in the job's env";
    const offered = methods.map((m) => m.id).join(', ') || 'none';
    return `the agent ${agent} requires authentication and offers no method usable without a person (offered: ${offered}): ${describeAuthMethods(methods)}; ${how}; or name a method with authMethod`;
  }

  /** Runs a session request, authenticating once and retrying when the agent says it needs that. */
  private async withAuth<T>(channel: RpcChannel, what: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await this.step(call(), signal, what);
    } catch (err) {
      if (!(err instanceof ResponseError) || err.code !== ErrorCode.authRequired || this.authenticated) throw err;
      await this.authenticate(channel, signal);
      return this.step(call(), signal, what);
    }
  }

  private async openSession(channel: RpcChannel, s: SessionOptions, signal?: AbortSignal): Promise<SessionInfo> {
    const caps = this.init?.agentCapabilities ?? {};
    const mcpServers = s.mcpServers ?? [];
    const refusal = unsupportedMcpServers(mcpServers, caps.mcpCapabilities ?? undefined);
    if (refusal) throw new AcpError(refusal);
    const base = { cwd: this.workdir.root, mcpServers };
    let lost: SessionInfo['lost'];
    if (s.sessionId) {
      const via = caps.loadSession ? 'load' : caps.sessionCapabilities?.resume != null ? 'resume' : undefined;
      if (!via) lost = { sessionId: s.sessionId, reason: 'the agent can neither load nor resume sessions' };
      else {
        const method = via === 'load' ? AgentMethod.sessionLoad : AgentMethod.sessionResume;
        this.phase = via === 'load' ? 'replay' : 'setup';
        try {
          const res = await this.withAuth(channel, method, () => channel.request<NewSessionResponse>(method, { ...base, sessionId: s.sessionId }), signal);
          return this.established({ sessionId: s.sessionId, how: via }, res);
        } catch (err) {
          if (!(err instanceof ResponseError)) throw asAcpError(err);
          lost = { sessionId: s.sessionId, reason: `${method} failed: ${err.message}` };
        } finally {
          this.phase = 'setup';
        }
      }
      this.emit({ type: 'notice', level: 'warning', message: `session ${s.sessionId} was lost (${lost.reason}); a new session was started` });
    }
    let res: NewSessionResponse;
    try {
      res = await this.withAuth(channel, AgentMethod.sessionNew, () => channel.request<NewSessionResponse>(AgentMethod.sessionNew, base), signal);
    } catch (err) {
      throw asAcpError(err, 'session/new');
    }
    if (typeof res?.sessionId !== 'string') throw new AcpError('the agent answered session/new without a sessionId');
    return this.established({ sessionId: res.sessionId, how: 'new', ...(lost ? { lost } : {}) }, res);
  }

  private established(info: SessionInfo, res: Partial<NewSessionResponse> | null | undefined): SessionInfo {
    this.configOptions = res?.configOptions;
    this.modes = res?.modes;
    const models = (res as { models?: { availableModels?: unknown } } | null)?.models?.availableModels;
    this.legacyModels = Array.isArray(models) ? (models as { modelId: string; name?: string }[]) : undefined;
    this.emit({ type: 'lifecycle', stage: 'session', ...info });
    return info;
  }

  private async configure(channel: RpcChannel, s: SessionOptions, signal?: AbortSignal): Promise<void> {
    const wanted: [Setting, string | undefined][] = [
      ['model', s.model],
      ['effort', s.effort],
      ['mode', s.mode ?? this.askingMode()],
    ];
    for (const [setting, value] of wanted) {
      if (value === undefined || value === '') continue;
      try {
        const applied = (await this.setConfigOption(channel, setting, value, signal)) || (await this.setLegacy(channel, setting, value, signal));
        if (!applied) this.emit({ type: 'notice', level: 'warning', message: `the agent offers no ${setting} setting; "${value}" was not applied` });
      } catch (err) {
        if (err instanceof AcpError) throw err;
        throw new AcpError(`setting ${setting} to "${value}" failed: ${errorMessage(err)}`);
      }
    }
  }

  private async setConfigOption(channel: RpcChannel, setting: Setting, value: string, signal?: AbortSignal): Promise<boolean> {
    const option = findConfigOption(this.configOptions, setting);
    if (!option) return false;
    const v = matchValue(option, value);
    if (v === undefined)
      throw notOffered(
        setting,
        value,
        optionValues(option).map((o) => o.value),
      );
    const params =
      typeof v === 'boolean'
        ? { sessionId: this.session!.sessionId, configId: option.id, type: 'boolean', value: v }
        : { sessionId: this.session!.sessionId, configId: option.id, value: v };
    const res = await this.step(
      channel.request<{ configOptions?: SessionConfigOption[] }>(AgentMethod.sessionSetConfigOption, params),
      signal,
      'session/set_config_option',
    );
    if (Array.isArray(res?.configOptions)) this.configOptions = res.configOptions;
    this.emit({ type: 'lifecycle', stage: 'config', setting, configId: option.id, value: v });
    return true;
  }

  /** `session/set_mode`, or the legacy `session/set_model`, for agents without config options. */
  private async setLegacy(channel: RpcChannel, setting: Setting, value: string, signal?: AbortSignal): Promise<boolean> {
    const sessionId = this.session!.sessionId;
    if (setting === 'mode' && this.modes?.availableModes?.length) {
      const mode = pick(
        this.modes.availableModes,
        value,
        (m) => m.id,
        (m) => m.name,
      );
      if (!mode)
        throw notOffered(
          setting,
          value,
          this.modes.availableModes.map((m) => m.id),
        );
      await this.step(channel.request(AgentMethod.sessionSetMode, { sessionId, modeId: mode.id }), signal, 'session/set_mode');
      this.modes = { ...this.modes, currentModeId: mode.id };
      this.emit({ type: 'lifecycle', stage: 'config', setting, modeId: mode.id });
      return true;
    }
    if (setting === 'model' && this.legacyModels?.length) {
      const model = pick(
        this.legacyModels,
        value,
        (m) => m.modelId,
        (m) => m.name,
      );
      if (!model)
        throw notOffered(
          setting,
          value,
          this.legacyModels.map((m) => m.modelId),
        );
      await this.step(channel.request(LEGACY_SET_MODEL, { sessionId, modelId: model.modelId }), signal, LEGACY_SET_MODEL);
      this.emit({ type: 'lifecycle', stage: 'config', setting, modelId: model.modelId });
      return true;
    }
    return false;
  }

  /** Awaits a setup step, giving up when `signal` aborts (the caller then closes the client). */
  private step<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
    const guarded = p.catch((err) => {
      throw err instanceof ResponseError ? err : asAcpError(err, what);
    });
    if (!signal) return guarded;
    if (signal.aborted) return Promise.reject(abortError(signal, what));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal, what));
      signal.addEventListener('abort', onAbort, { once: true });
      guarded.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }
}

/** The text of a content block (`text` blocks; others are kept only as events). */
export function textOf(content: unknown): string {
  const c = content as { type?: unknown; text?: unknown } | null | undefined;
  return c && c.type === 'text' && typeof c.text === 'string' ? c.text : '';
}

/** The agent text of a turn carried by an event, if any (for hosts that stream it). */
export function turnText(event: AcpEvent): string {
  if (event.type !== 'update' || event.phase !== 'turn' || event.update.sessionUpdate !== 'agent_message_chunk') return '';
  return textOf((event.update as { content?: unknown }).content);
}

/**
 * Picks the method to authenticate with: the one named, else one that works without a person (an API
 * key or token from the environment). Interactive (`terminal`) methods are never picked on their own.
 */
export function chooseAuthMethod(methods: AuthMethod[], preferred?: string): string | undefined {
  if (preferred) return preferred;
  const usable = methods.find((m) => (m as { type?: string }).type !== 'terminal' && /api[-_ ]?key|token|env/i.test(`${m.id} ${m.name ?? ''}`));
  return usable?.id;
}

function answerPermission(
  decision: PermissionDecision,
  options: PermissionOption[],
): { response: RequestPermissionResponse; event: Pick<PermissionEvent, 'type' | 'decision' | 'optionId' | 'optionKind' | 'reason'> } {
  const cancelled = (reason: string) => ({
    response: { outcome: { outcome: 'cancelled' as const } },
    event: { type: 'permission' as const, decision: 'cancelled' as const, reason },
  });
  const selected = (o: PermissionOption, reason: string) => ({
    response: { outcome: { outcome: 'selected' as const, optionId: o.optionId } },
    event: {
      type: 'permission' as const,
      decision: o.kind.startsWith('allow') ? ('allow' as const) : ('reject' as const),
      optionId: o.optionId,
      optionKind: o.kind,
      reason,
    },
  });
  if ('optionId' in decision) {
    const o = options.find((x) => x.optionId === decision.optionId);
    if (o) return selected(o, decision.reason);
    const reject = pickOption(options, 'reject');
    const why = `${decision.reason}; "${decision.optionId}" is not one of the offered options`;
    return reject ? selected(reject, why) : cancelled(why);
  }
  if (decision.outcome === 'cancelled') return cancelled(decision.reason);
  const o = pickOption(options, decision.outcome);
  if (o) return selected(o, decision.reason);
  if (decision.outcome === 'allow') {
    const reject = pickOption(options, 'reject');
    const why = `${decision.reason}; but no allow option was offered`;
    return reject ? selected(reject, why) : cancelled(why);
  }
  return cancelled(`${decision.reason}; no reject option was offered, so the answer is cancelled`);
}

function notOffered(setting: Setting, value: string, available: string[]): AcpError {
  return new AcpError(`${setting} "${value}" is not offered by the agent; it offers: ${available.join(', ') || 'nothing'}`);
}

function abortReason(signal: AbortSignal | undefined): 'cancelled' | 'timeout' {
  return signal?.reason === 'timeout' ? 'timeout' : 'cancelled';
}

function abortError(signal: AbortSignal, what: string): AcpError {
  const reason = abortReason(signal);
  return new AcpError(reason === 'timeout' ? `timed out during ${what}` : `cancelled during ${what}`, reason);
}

function asAcpError(err: unknown, what?: string): AcpError {
  if (err instanceof AcpError) return err;
  if (err instanceof ResponseError) return new AcpError(`${what ?? 'request'} failed: ${err.message} (code ${err.code})`);
  return new AcpError(errorMessage(err));
}

function errorMessage(err: unknown): string {
  if (err instanceof ResponseError) return `${err.message} (code ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
