// The headless ACP client, as a library: drive any ACP coding agent over its stdio.
export { runAcpSession, type AcpResult, type RunOptions } from './run';
export {
  AcpClient,
  AcpError,
  chooseAuthMethod,
  textOf,
  turnText,
  type AcpClientOptions,
  type FinalStopReason,
  type SessionInfo,
  type SessionOptions,
  type TurnResult,
} from './client';
export {
  DenyAll,
  InteractivePolicy,
  WorkdirApprove,
  READ_ONLY_KINDS,
  DEFAULT_PERMISSION_DEADLINE_MS,
  pickOption,
  type InteractiveOptions,
  type PermissionContext,
  type PermissionDecision,
  type PermissionPolicy,
} from './policies';
export { McpServersError, describeMcpServers, parseMcpServers, unsupportedMcpServers } from './mcp-servers';
export { AGENT_PRESETS, DEFAULT_AGENT, describeAgent, resolveAgent, type AgentCommand } from './agents';
export { LIMITS, resolveLimits, type AcpLimits } from './limits';
export { ProcessTerminal, type AcpTerminal, type TerminalFactory, type TerminalLaunch } from './terminals';
export type { AcpEvent, EventListener, FsEvent, LifecycleEvent, NoticeEvent, PermissionEvent, TerminalEvent, UpdateEvent, UpdatePhase } from './events';
export type { ToolCallRecord } from './tool-calls';
export { NdjsonMessageReader, NdjsonMessageWriter, LineTooLongError, InvalidLineError } from './ndjson';
export * as protocol from './protocol';
