// The files API, ports and the machine (CONTRACT §9) in the OpenAPI document; docs/files.md says more.
import { AUTH_ERROR } from '../auth';
const str = { type: 'string' };
const int = { type: 'integer' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', properties, ...extra });
const json = (schema: Record<string, unknown>, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json({ $ref: '#/components/schemas/Error' }, description);
const secured = { security: [{ apiKey: [] }] };
const q = (name: string, description: string, schema: Record<string, unknown> = str, required = false) => ({
  name,
  in: 'query',
  required,
  schema,
  description,
});
const pathQ = q('path', 'absolute, or relative to the server’s cwd', str, true);
const faults = {
  '400': error('bad parameter, a folder where a file is wanted, or a name not valid here'),
  '401': error(AUTH_ERROR),
  '403': error('permission denied, or outside the files roots'),
  '404': error('no such file or folder'),
};
const EntryType = { type: 'string', enum: ['file', 'directory', 'symlink', 'other'] };
const Written = obj({ path: str, size: int, mtime: num, etag: str });
const SseEvents = { description: 'Server-Sent Events', content: { 'text/event-stream': {} } };

export const filesPaths: Record<string, Record<string, unknown>> = {
  '/files/content': {
    get: {
      ...secured,
      summary: 'A file’s bytes, streamed; `Range: bytes=A-B` gives 206; ETag, Last-Modified, If-None-Match',
      parameters: [pathQ],
      responses: {
        '200': { description: 'the bytes', content: { 'application/octet-stream': {} } },
        '206': { description: 'the range asked for', content: { 'application/octet-stream': {} } },
        '304': { description: 'not modified (If-None-Match)' },
        '416': error('range not satisfiable'),
        ...faults,
      },
    },
    put: {
      ...secured,
      summary: 'Replace or create a file atomically from the raw body (streamed to a temporary file beside it, then renamed)',
      parameters: [
        pathQ,
        q('mkdirs', 'create missing parent folders', bool),
        { name: 'If-Match', in: 'header', schema: str, description: 'an ETag: 412 unless the file is that version' },
      ],
      requestBody: { content: { 'application/octet-stream': {} } },
      responses: {
        '200': json(Written, 'replaced'),
        '201': json(Written, 'created'),
        '412': error('the file is not the version If-Match names'),
        '413': error('larger than filesMaxUploadBytes'),
        '507': error('no space left on the device'),
        ...faults,
      },
    },
  },
  '/files/stat': {
    get: {
      ...secured,
      summary: 'What a path is (a symlink is not followed)',
      parameters: [pathQ],
      responses: { '200': json(obj({ path: str, type: EntryType, size: int, mode: int, mtime: num, etag: str })), ...faults },
    },
  },
  '/files/list': {
    get: {
      ...secured,
      summary: 'A folder’s entries sorted by name, a page at a time',
      parameters: [pathQ, q('limit', 'entries per page (default 1000, at most filesListMaxEntries)', int), q('cursor', 'the cursor of the previous page')],
      responses: {
        '200': json(
          obj({
            entries: { type: 'array', items: obj({ name: str, path: str, type: EntryType, size: int, mtime: num }) },
            cursor: { type: ['string', 'null'] },
          }),
        ),
        ...faults,
      },
    },
  },
  '/files/mkdir': {
    post: {
      ...secured,
      summary: 'Make a folder (`parents`: and the missing ones above it)',
      requestBody: { content: { 'application/json': { schema: obj({ path: str, parents: bool }, { required: ['path'] }) } } },
      responses: {
        '201': json(obj({ path: str, created: bool }), 'made'),
        '200': json(obj({ path: str, created: bool }), 'already there (parents)'),
        '409': error('already exists'),
        ...faults,
      },
    },
  },
  '/files/move': {
    post: {
      ...secured,
      summary: 'Move or rename a file or folder',
      requestBody: { content: { 'application/json': { schema: obj({ from: str, to: str, overwrite: bool }, { required: ['from', 'to'] }) } } },
      responses: { '200': json(obj({ from: str, to: str })), '409': error('the target exists (overwrite=true replaces it)'), ...faults },
    },
  },
  '/files': {
    delete: {
      ...secured,
      summary: 'Delete a file, link or folder (a folder with contents needs recursive=true)',
      parameters: [pathQ, q('recursive', 'delete a folder with its contents', bool)],
      responses: { '200': json(obj({ path: str, deleted: bool, type: EntryType })), '409': error('folder not empty'), ...faults },
    },
  },
  '/files/search': {
    get: {
      ...secured,
      summary: 'A regular expression over file contents (ripgrep where installed); skips .git and .gitignore’d files unless ignore=false',
      parameters: [
        pathQ,
        q('pattern', 'a regular expression', str, true),
        q('glob', 'only files matching this glob'),
        q('limit', 'most matches (default 1000, at most filesMaxResults)', int),
        q('ignore', 'false: search ignored files and .git too', bool),
      ],
      responses: {
        '200': json(obj({ matches: { type: 'array', items: obj({ path: str, line: int, column: int, text: str }) }, truncated: bool })),
        ...faults,
      },
    },
  },
  '/files/find': {
    get: {
      ...secured,
      summary: 'Files whose name matches a glob; skips .git and .gitignore’d files unless ignore=false',
      parameters: [
        pathQ,
        q('name', 'a glob over file names', str, true),
        q('limit', 'most paths (default 1000, at most filesMaxResults)', int),
        q('ignore', 'false: include ignored files and .git', bool),
      ],
      responses: { '200': json(obj({ paths: { type: 'array', items: str }, truncated: bool })), ...faults },
    },
  },
  '/files/watch': {
    get: {
      ...secured,
      summary: 'Changes under a folder as SSE: `create`, `change`, `delete` with {path, type}; `end` when the folder goes',
      parameters: [pathQ, q('recursive', 'include subfolders', bool)],
      responses: { '200': SseEvents, '429': error('too many watches (filesMaxWatches)'), '501': error('no file watcher on this platform'), ...faults },
    },
  },
  '/ports': {
    get: {
      ...secured,
      summary: 'TCP ports listening on this machine, with pid and process when the OS tells',
      responses: {
        '200': json(
          obj({
            ports: { type: 'array', items: obj({ port: int, address: str, pid: { type: ['integer', 'null'] }, process: { type: ['string', 'null'] } }) },
            source: { type: 'string', enum: ['procfs', 'lsof', 'netstat', 'none'] },
            note: str,
          }),
        ),
        '401': faults['401'],
      },
    },
  },
  '/ports/{port}/expose': Object.fromEntries(
    (['post', 'delete'] as const).map((m) => [
      m,
      {
        ...secured,
        summary: m === 'post' ? 'Forward a local port through the running devtunnel; answers its public URL' : 'Stop forwarding a port',
        parameters: [{ name: 'port', in: 'path', required: true, schema: { type: 'integer', minimum: 1, maximum: 65535 } }],
        responses: {
          '200': json(m === 'post' ? obj({ port: int, url: str }) : obj({ port: int, exposed: bool })),
          '400': error('not a port number'),
          '401': faults['401'],
          '409': error('no devtunnel is running'),
          '502': error('the devtunnel CLI failed'),
        },
      },
    ]),
  ),
  '/metrics': {
    get: {
      security: [{ apiKey: [] }, { bearer: [] }],
      summary: 'Prometheus text: process figures, jobs by mode and status, durations, running jobs, terminals, ACP turns, output bytes',
      responses: { '200': { description: 'Prometheus text format 0.0.4', content: { 'text/plain': {} } }, '401': faults['401'] },
    },
  },
  '/system': {
    get: {
      ...secured,
      summary: 'The machine: platform, CPUs, load, memory, disks, uptime',
      responses: {
        '200': json(
          obj({
            platform: str,
            arch: str,
            release: str,
            hostname: str,
            cpus: int,
            loadavg: { type: 'array', items: num },
            memory: obj({ total: int, free: int }),
            disk: { type: 'array', items: obj({ path: str, total: int, free: int }) },
            uptime_s: int,
          }),
        ),
        '401': faults['401'],
      },
    },
  },
};
