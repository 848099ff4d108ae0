// The ACP v1 protocol surface this client speaks: types come from the official schema package (types only,
// so nothing of it is bundled), method names and codes are spelled here and checked against it.
// Hand-written logic lives in the other modules; this one only names the wire.
import type { AGENT_METHODS, CLIENT_METHODS } from '@agentclientprotocol/sdk';

export type {
  AgentCapabilities,
  AuthMethod,
  AuthenticateRequest,
  ClientCapabilities,
  ContentBlock,
  CreateTerminalRequest,
  CreateTerminalResponse,
  EnvVariable,
  InitializeRequest,
  InitializeResponse,
  KillTerminalRequest,
  LoadSessionRequest,
  LoadSessionResponse,
  McpCapabilities,
  McpServer,
  NewSessionRequest,
  NewSessionResponse,
  PermissionOption,
  PermissionOptionKind,
  PromptRequest,
  PromptResponse,
  ReadTextFileRequest,
  ReadTextFileResponse,
  ReleaseTerminalRequest,
  RequestPermissionRequest,
  RequestPermissionResponse,
  ResumeSessionRequest,
  ResumeSessionResponse,
  SessionConfigOption,
  SessionModeState,
  SessionNotification,
  SessionUpdate,
  SetSessionConfigOptionRequest,
  SetSessionModeRequest,
  StopReason,
  TerminalExitStatus,
  TerminalOutputRequest,
  TerminalOutputResponse,
  ToolCall,
  ToolCallContent,
  ToolCallLocation,
  ToolCallStatus,
  ToolCallUpdate,
  ToolKind,
  WaitForTerminalExitRequest,
  WaitForTerminalExitResponse,
  WriteTextFileRequest,
} from '@agentclientprotocol/sdk';
// Turn usage is still an unstable addition to v1's PromptResponse; agents that send it get it reported.
export type { Usage } from '@agentclientprotocol/sdk/unstable';

/** The ACP protocol version this client speaks (CONTRACT §5). */
export const PROTOCOL_VERSION = 1;

type AgentMethods = typeof AGENT_METHODS;
type ClientMethods = typeof CLIENT_METHODS;

/** Requests and notifications the client sends to the agent. */
export const AgentMethod = {
  initialize: 'initialize',
  authenticate: 'authenticate',
  sessionNew: 'session/new',
  sessionLoad: 'session/load',
  sessionResume: 'session/resume',
  sessionSetMode: 'session/set_mode',
  sessionSetConfigOption: 'session/set_config_option',
  sessionPrompt: 'session/prompt',
  sessionCancel: 'session/cancel',
} as const satisfies Record<string, AgentMethods[keyof AgentMethods]>;

/** Requests and notifications the agent sends to the client. */
export const ClientMethod = {
  sessionUpdate: 'session/update',
  requestPermission: 'session/request_permission',
  readTextFile: 'fs/read_text_file',
  writeTextFile: 'fs/write_text_file',
  terminalCreate: 'terminal/create',
  terminalOutput: 'terminal/output',
  terminalWaitForExit: 'terminal/wait_for_exit',
  terminalKill: 'terminal/kill',
  terminalRelease: 'terminal/release',
} as const satisfies Record<string, ClientMethods[keyof ClientMethods]>;

/**
 * `session/set_model` predates config options and left the stable schema; some agents still offer it
 * (their session response then carries `models`), so the client falls back to it for `model`.
 */
export const LEGACY_SET_MODEL = 'session/set_model';

/** JSON-RPC error codes used on the wire (ACP adds -32000 and -32002). */
export const ErrorCode = {
  invalidParams: -32602,
  methodNotFound: -32601,
  internalError: -32603,
  authRequired: -32000,
  resourceNotFound: -32002,
} as const;
