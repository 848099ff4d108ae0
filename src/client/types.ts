// Names for the shapes of the API, taken from the generated route types (generated/openapi.ts, made from
// the server's OpenAPI document), so a route's description and its client type cannot part ways.
// Only what the document cannot say (the events inside an SSE stream) is written here by hand.
import type { components, paths } from './generated/openapi.js';

export type { components, paths };

/** The JSON body a route answers with the given status. */
export type JsonResponse<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: infer R;
}
  ? R extends { [K in S]: { content: { 'application/json': infer B } } }
    ? B
    : never
  : never;

/** The JSON body a route takes. */
export type JsonRequest<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** The query parameters a route takes. */
export type Query<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type Job = components['schemas']['Job'];
export type JobStatus = Job['status'];
export type ExecRequest = components['schemas']['ExecRequest'];
export type PendingPermission = components['schemas']['PendingPermission'];
export type ExecAccepted = JsonResponse<'/exec', 'post', 202>;
export type ReadJobQuery = Query<'/jobs/{id}', 'get'>;
export type NudgeResult = JsonResponse<'/jobs/{id}/nudge', 'post'>;
export type InputResult = JsonResponse<'/jobs/{id}/input', 'post'>;
export type Health = JsonResponse<'/health', 'get'>;
export type UpdateResult = JsonResponse<'/update', 'post'>;
export type OpenApiDocument = JsonResponse<'/openapi.json', 'get'>;

export type PersistentShellSession = JsonResponse<'/sessions/{key}', 'get'>;
export type PersistentShellDeleted = JsonResponse<'/sessions/{key}', 'delete'>;

export type TerminalTicket = JsonResponse<'/terminal/tickets', 'post', 201>;
export type TerminalList = JsonResponse<'/terminals', 'get'>;
export type TerminalInfo = TerminalList['terminals'][number];
export type TerminalEnded = JsonResponse<'/terminals/{id}', 'delete'>;

export type FileWritten = JsonResponse<'/files/content', 'put'>;
export type FileStat = JsonResponse<'/files/stat', 'get'>;
export type FileType = FileStat['type'];
export type FileList = JsonResponse<'/files/list', 'get'>;
export type FileEntry = FileList['entries'][number];
export type MkdirResult = JsonResponse<'/files/mkdir', 'post', 201>;
export type MoveResult = JsonResponse<'/files/move', 'post'>;
export type DeleteResult = JsonResponse<'/files', 'delete'>;
export type SearchResult = JsonResponse<'/files/search', 'get'>;
export type SearchMatch = SearchResult['matches'][number];
export type FindResult = JsonResponse<'/files/find', 'get'>;

export type PortList = JsonResponse<'/ports', 'get'>;
export type ListeningPort = PortList['ports'][number];
export type PortExposed = JsonResponse<'/ports/{port}/expose', 'post'>;
export type PortUnexposed = JsonResponse<'/ports/{port}/expose', 'delete'>;
export type SystemInfo = JsonResponse<'/system', 'get'>;

export type PermissionAnswered = JsonResponse<'/jobs/{id}/permissions/{requestId}', 'post'>;

/** One event of a job (`events` of an ACP job, `acp` events of its stream). */
export interface JobEvent {
  seq: number;
  type: string;
  timestamp: number;
  data: Record<string, unknown>;
}

/** An event of `GET /jobs/{id}/stream`; `id` is the cursor a reconnect resumes from. */
export type JobStreamEvent =
  | { event: 'status'; id: string; data: { status: JobStatus } }
  | { event: 'stdout' | 'stderr'; id: string; data: { text: string; offset: number } }
  | { event: 'acp'; id: string; data: JobEvent }
  | { event: 'end'; id: string; data: Job };

/** An event of `GET /files/watch`. */
export type WatchEvent =
  | { event: 'ready'; data: { path: string; recursive: boolean } }
  | { event: 'create' | 'change' | 'delete'; data: { path: string; type: FileType | null } }
  | { event: 'end'; data: unknown }
  | { event: 'error'; data: { error: string } };

/** What the server answers on failure: `{"error": "..."}`, sometimes with more fields. */
export interface ErrorBody {
  error: string;
  [field: string]: unknown;
}
