// `agent-runtime/client`: a typed client of the agent-runtime server, for Node ≥ 20 and browsers.
export { AgentRuntimeClient, FINAL_STATUSES, isFinal } from './client.js';
export type { AgentRequest, ClientOptions, ExecOptions, RunAgentOptions, StreamOptions, WaitOptions } from './client.js';
export { AgentRuntimeError } from './http.js';
export type { Body } from './http.js';
export { StreamDroppedError } from './sse.js';
export type { ReconnectOptions } from './sse.js';
export { FilesApi } from './files.js';
export type { Download, DownloadOptions, ListOptions, SearchOptions, Signal, UploadOptions } from './files.js';
export { DETACH_CODE, TerminalConnection } from './terminal.js';
export type { TerminalClosed, TerminalExit, TerminalOptions, TerminalSession, WebSocketConstructor, WebSocketLike } from './terminal.js';
export type * from './types.js';
