// HTTP requests as a fuzzer writes them: generated from the server's own route list (`GET /openapi.json`,
// so a route added later is attacked without a change here), sent raw over a socket (so framing can lie),
// and judged by what CONTRACT §3 and §8 promise: an answer, never a 5xx or a stack trace, a JSON error on
// every 4xx the app gives, and 401 without a valid key wherever one is needed.
import fc from 'fast-check';
import { METHODS as KNOWN_METHODS } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { CLI } from '../helpers/server';
import { isKnownDefect } from './known-defects';

export interface Route {
  method: string;
  /** The OpenAPI path, `{name}` for each parameter. */
  template: string;
  query: string[];
  headers: string[];
  bodyFields: string[];
}

/** What is public (no key needed): everything else answers 401 without one. */
export const isPublicPath = (path: string) => /^\/(health|terminal|terminal\/assets\/[^/]*)\/?$/i.test(path.split('?')[0]);

export type Framing = 'exact' | 'chunked' | 'short' | 'long' | 'missing' | 'both';

export interface HttpCase {
  method: string;
  /** As written on the request line: already encoded. */
  target: string;
  route: string;
  key: 'valid' | 'wrong' | 'none';
  headers: [string, string][];
  body: Buffer | undefined;
  framing: Framing;
}

export interface HttpResult {
  status?: number;
  head: string;
  body: string;
  /** How the exchange ended: a whole answer, the connection closed before one, or no answer in time. */
  ended: 'answered' | 'closed' | 'timeout';
  error?: string;
}

/** The routes the server describes, with their parameters and body fields. */
export function routesFrom(doc: any): Route[] {
  const routes: Route[] = [];
  for (const [template, ops] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const params: any[] = op.parameters ?? [];
      const schema = resolve(doc, op.requestBody?.content?.['application/json']?.schema);
      routes.push({
        method: method.toUpperCase(),
        template,
        query: params.filter((p) => p.in === 'query').map((p) => p.name),
        headers: params.filter((p) => p.in === 'header').map((p) => p.name),
        bodyFields: Object.keys(schema?.properties ?? {}),
      });
    }
  }
  return routes;
}

function resolve(doc: any, schema: any): any {
  if (!schema?.$ref) return schema;
  return String(schema.$ref)
    .replace(/^#\//, '')
    .split('/')
    .reduce((o: any, k: string) => o?.[k], doc);
}

// Names JavaScript objects carry, and encodings that decode to something else than they look.
const ODD_SEGMENTS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  '.',
  '..',
  '%2e%2e',
  '%2E',
  '%2F',
  '%2f..%2f',
  '%00',
  '%',
  '%ZZ',
  '%C0%AF',
  '%E2%80%AE',
  '%F0%9F%98%80',
  '😀',
  'ä',
  '%20',
  '+',
  ';',
  ',',
  '*',
  '~',
  '$',
  'NaN',
  '-1',
  '0',
  '1e309',
  'null',
  'undefined',
  '[]',
  '{}',
  'con',
  'aux',
];
const ODD_PATHS = [
  '/',
  '//',
  '/__proto__',
  '/constructor',
  '/jobs/',
  '/jobs//stream',
  '/terminal/',
  '/terminal/assets/',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/health/..',
  '/HEALTH',
  '/exec/',
  '/.well-known/x',
  '*',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'CONNECT', 'FOO', 'get'];
const ODD_VALUES = [
  '',
  '0',
  '-1',
  '1',
  '2',
  '1.5',
  '1e3',
  '1e309',
  '-0',
  'NaN',
  'Infinity',
  '9007199254740993',
  '999999999999999',
  '1000000000000000',
  'true',
  'null',
  '[]',
  '{}',
  '0x10',
  ' 1',
  '1 ',
  'abc',
  '%00',
  '%',
  '%ZZ',
  '__proto__',
  'constructor',
  'a'.repeat(5000),
];
const QUERY_KEYS = ['__proto__', 'constructor', 'toString', 'wait', 'tailLines', 'stdoutFrom', 'stderrFrom', 'path', 'session', 'a[b]', 'a[]', '%00', ''];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json;;',
  '*/*',
  'application/json; charset="',
];

/** A percent-encoded string of any characters (what a client may put in a path segment or query). */
const encoded = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => encodeURIComponent(s));
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
  { weight: 2, arbitrary: encoded },
  { weight: 1, arbitrary: fc.constant('x'.repeat(3000)) },
);
const queryValue = fc.oneof(fc.constantFrom(...ODD_VALUES), encoded);

function pathFor(route: Route, knownIds: Record<string, string[]>): fc.Arbitrary<string> {
  const names = [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (names.length === 0) return fc.constant(route.template);
  const value = (name: string) => (knownIds[name]?.length ? fc.oneof(fc.constantFrom(...knownIds[name]), segment) : segment);
  return fc.tuple(...names.map(value)).map((vals) => {
    let i = 0;
    return route.template.replace(/\{\w+\}/g, () => vals[i++]);
  });
}

const query = (route: Route) =>
  fc
    .array(fc.tuple(fc.constantFrom(...route.query, ...QUERY_KEYS), queryValue), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&')}` : ''));

/** A JSON value of every type, for fields that expect one type. */
const anyJson = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, '', 'x', [], {}, '__proto__', 'a'.repeat(2000)),
  fc.jsonValue({ maxDepth: 3 }),
);

/**
 * Bodies: valid JSON of the route's fields with values of every type, malformed JSON, nesting deep
 * enough to hurt a recursive parser, prototype keys, and strings just under and over the body limit.
 */
function bodyFor(route: Route, maxBodyBytes: number): fc.Arbitrary<Buffer | undefined> {
  const fields = route.bodyFields.length ? route.bodyFields : ['command', 'data', 'drain', 'answer'];
  const object = fc
    .dictionary(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fields) }, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.string({ maxLength: 8 })),
      anyJson,
      { maxKeys: 6 },
    )
    .map((o) => JSON.stringify(o));
  const malformed = fc.constantFrom(
    '{',
    '{"command":',
    '{"command": "true",}',
    "{'a':1}",
    '[',
    'nul',
    '"',
    '\u0000',
    '{"a":1}{"b":2}',
    '\ufeff{}',
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"x":1}}}',
    'NaN',
    '1e99999',
    '-',
    '{"a":"\\ud800"}',
  );
  const deep = fc
    .integer({ min: 100, max: Math.floor(maxBodyBytes / 4) })
    .chain((n) => fc.constantFrom('[', '{"a":').map((open) => (open === '[' ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n))));
  const huge = fc.constantFrom(-64, -1, 0, 1, 4096).map((delta) => {
    const fill = Math.max(0, maxBodyBytes + delta - '{"command":""}'.length);
    return `{"command":"${'a'.repeat(fill)}"}`;
  });
  const bytes = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: object.map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: malformed.map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: deep.map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: huge.map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: bytes },
  );
}

function headersFor(route: Route): fc.Arbitrary<[string, string][]> {
  const header = fc.oneof(
    fc.tuple(fc.constant('Content-Type'), fc.constantFrom(...CONTENT_TYPES)),
    fc.tuple(fc.constant('Idempotency-Key'), fc.oneof(fc.constantFrom('', 'k', 'x'.repeat(8000), '__proto__', 'constructor'), fc.string({ maxLength: 30 }))),
    fc.tuple(fc.constant('Last-Event-ID'), fc.constantFrom('', '0', '-1', '1', '99999999999999999999', 'abc', '1.5', 'stdout:5', '__proto__')),
    fc.tuple(
      fc.constantFrom(...route.headers, 'Accept', 'Origin', 'X-Forwarded-Host', 'Content-Encoding', 'Expect', 'Range'),
      fc.constantFrom('', 'gzip', 'null', 'http://evil.example', '100-continue', 'bytes=0-1', '*/*', 'text/event-stream'),
    ),
    // Bytes a header must not hold (latin-1 and control characters): the HTTP parser's to refuse.
    fc.tuple(
      fc.constant('X-Odd'),
      fc.string({ unit: 'binary', maxLength: 10 }).map((s) => s.replace(/[\r\n]/g, '')),
    ),
  );
  return fc.array(header, { maxLength: 3 });
}

/**
 * A request to one of `routes` (now and then to a path of no route), as any client could send it.
 * `knownIds` are path parameter values that name something that exists (a job), so deeper code runs.
 */
export function httpCase(routes: Route[], knownIds: Record<string, string[]>, maxBodyBytes: number): fc.Arbitrary<HttpCase> {
  const onRoute = fc.constantFrom(...routes).chain((route) =>
    fc.record({
      method: fc.oneof({ weight: 5, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      target: fc.tuple(pathFor(route, knownIds), query(route)).map(([p, q]) => p + q),
      route: fc.constant(`${route.method} ${route.template}`),
      key: fc.constantFrom<HttpCase['key']>('valid', 'valid', 'wrong', 'none'),
      headers: headersFor(route),
      body: bodyFor(route, maxBodyBytes),
      framing: fc.constantFrom<Framing>('exact', 'exact', 'exact', 'chunked', 'short', 'long', 'missing', 'both'),
    }),
  );
  const anywhere: Route = { method: 'GET', template: '/', query: [], headers: [], bodyFields: [] };
  const offRoute = fc.record({
    method: fc.constantFrom(...METHODS),
    target: fc.oneof(
      fc.constantFrom(...ODD_PATHS),
      fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`),
    ),
    route: fc.constant('(no route)'),
    key: fc.constantFrom<HttpCase['key']>('valid', 'wrong', 'none'),
    headers: headersFor(anywhere),
    body: bodyFor(anywhere, maxBodyBytes),
    framing: fc.constantFrom<Framing>('exact', 'chunked'),
  });
  return fc.oneof({ weight: 6, arbitrary: onRoute }, { weight: 1, arbitrary: offRoute }).map(defuse);
}

// What the fuzzer may send with a valid key is what anyone holding the key may do, so it must not do it
// for real: no command but harmless ones, no agent but `true`, no path outside the server's own folder,
// and no `POST /update` that could succeed (the CLI would exit for its wrapper, as designed).
const SAFE_COMMANDS = ['true', 'echo fuzz', 'exit 3', 'xfuzz-not-a-command'];
const COMMAND_FIELDS = new Set(['command', 'agent', 'bootstrapCommand', 'bootstrapCurrentCommand', 'shell']);

function defuse(c: HttpCase): HttpCase {
  if (c.key !== 'valid') return c;
  let target = c.target;
  if (/%2e|\.\.|=%2F|=\/|=~|=%5C/i.test(target)) target = target.replace(/%2e|\.\./gi, 'dot').replace(/=(%2F|\/|~|%5C)/gi, '=rel');
  let body = c.body;
  if (body) {
    const text = body.toString();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
      JSON.stringify(parsed); // nesting too deep to write again is left as it is (its top level is harmless)
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const o = parsed as Record<string, unknown>;
      let n = 0;
      for (const k of Object.keys(o)) {
        if (COMMAND_FIELDS.has(k) && typeof o[k] === 'string') o[k] = k === 'shell' ? 'bash' : SAFE_COMMANDS[n++ % SAFE_COMMANDS.length];
        if (typeof o[k] === 'string' && /^(\/|\\|~|[A-Za-z]:)|\.\./.test(o[k] as string)) o[k] = 'rel';
      }
      if (o.mode === 'acp' || 'agent' in o) o.agent = 'true';
      if (/\/update\b/.test(c.target)) o.drain = 'not a boolean';
      body = Buffer.from(JSON.stringify(o));
    } else if (/\/update\b/.test(c.target) && (parsed === undefined ? text.trim() === '' : parsed === null)) {
      body = Buffer.from('{');
    }
  } else if (/\/update\b/.test(c.target)) {
    body = Buffer.from('{');
  }
  if (/\/update\b/i.test(c.target)) {
    // Only bodies it must refuse, sent so that the server reads exactly them (a BOM, a charset or framing
    // that drops the body would turn them into a valid, empty request).
    const refused = body && /"drain":"not a boolean"/.test(body.toString()) ? body : Buffer.from('{');
    return { ...c, target, body: refused, framing: 'exact', headers: c.headers.filter(([k]) => !/^content-/i.test(k)) };
  }
  return { ...c, target, body };
}

/** The request as bytes, framed as the case says (lies included). */
export function serialize(c: HttpCase, host: string, port: number, key: string): Buffer {
  const lines = [`${c.method} ${c.target} HTTP/1.1`, `Host: ${host}:${port}`, 'Connection: close'];
  if (c.key === 'valid') lines.push(`X-API-Key: ${key}`);
  if (c.key === 'wrong') lines.push(`X-API-Key: ${key.slice(0, -1)}x`);
  for (const [k, v] of c.headers) lines.push(`${k}: ${v}`);
  const body = c.body ?? Buffer.alloc(0);
  let payload = body;
  if (c.framing === 'exact' && c.body) lines.push(`Content-Length: ${body.length}`);
  if (c.framing === 'short') lines.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
  if (c.framing === 'long') lines.push(`Content-Length: ${body.length + 10}`);
  if (c.framing === 'both') lines.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
  if (c.framing === 'chunked' || c.framing === 'both') {
    lines.push(...(c.framing === 'chunked' ? ['Transfer-Encoding: chunked'] : []));
    payload = Buffer.concat([
      body.length ? Buffer.from(`${body.length.toString(16)}\r\n`) : Buffer.alloc(0),
      body,
      body.length ? Buffer.from('\r\n') : Buffer.alloc(0),
      Buffer.from('0\r\n\r\n'),
    ]);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

/** `100 Continue` and other interim answers that come before the real one. */
const INTERIM = /^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/;

/** Sends raw bytes and reads the first answer (only its head for an event stream, which stays open). */
export function sendRaw(host: string, port: number, raw: Buffer, timeoutMs: number, bodyShort = false): Promise<HttpResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = Buffer.alloc(0);
    let done = false;
    let error: string | undefined;
    const finish = (ended: HttpResult['ended']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString('latin1').replace(INTERIM, '');
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split) : text;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({
        status: m ? Number(m[1]) : undefined,
        head,
        body: split >= 0 ? Buffer.from(text.slice(split + 4), 'latin1').toString() : '',
        ended: m && ended === 'closed' ? 'answered' : ended,
        error,
      });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('connect', () => {
      socket.write(raw);
      // A body shorter than its Content-Length is all there is: say so, after a while, by closing our side.
      // (Not for the others: Node's server takes a half-close as the client going away, and drops the answer.)
      if (bodyShort) setTimeout(() => socket.end(), 100).unref();
    });
    socket.on('data', (chunk: Buffer) => {
      if (data.length < 256 * 1024) data = Buffer.concat([data, chunk]);
      const text = data.toString('latin1').replace(INTERIM, '');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const head = text.slice(0, split);
      if (/^content-type:\s*text\/event-stream/im.test(head)) return finish('answered');
      const length = /^content-length:\s*(\d+)/im.exec(head);
      if (length && text.length - split - 4 >= Number(length[1])) finish('answered');
    });
    socket.on('error', (e) => (error = e.message));
    socket.on('close', () => finish('closed'));
  });
}

const INSTALL_DIR = dirname(dirname(CLI));

/**
 * What is wrong with the answer to `c` (empty: nothing). On the terminal port (`keyed` false) only the
 * terminal's own routes need the key and every other path is its page or a 404, so 401s are not expected.
 */
export function judge(c: HttpCase, r: HttpResult, keyed = true): string[] {
  const problems: string[] = [];
  if (r.ended === 'timeout' && r.status === undefined) problems.push('no answer (hang)');
  // A body that claims more bytes than it has cannot be answered in time by anyone: a closed connection is fair.
  if (r.status === undefined && r.ended === 'closed' && c.framing !== 'long') problems.push(`connection dropped without an answer (${r.error ?? 'closed'})`);
  if (r.status !== undefined && r.status >= 500) problems.push(`${r.status}`);
  // A stack as text, or as express's HTML error page writes it (`<br> &nbsp; &nbsp;at fn (file:1:2)`).
  if (/(\n\s+|&nbsp;)at .+(:\d+:\d+|&lt;anonymous&gt;)/.test(r.body) || r.body.includes(INSTALL_DIR))
    problems.push('a stack trace or install path in the answer');
  // Framing that lies leaves bytes after the request, which the HTTP parser refuses (a bare 400) maybe
  // before the app answers, as it refuses methods it does not know; and an `Expect` other than 100-continue is refused by Node (417) first.
  const framedWell =
    KNOWN_METHODS.includes(c.method) &&
    c.method !== 'CONNECT' &&
    (c.framing === 'exact' || c.framing === 'chunked' || (c.framing === 'missing' && !c.body?.length)) &&
    !/[^\x21-\x7e]/.test(c.target);
  const protocolRefusal = c.headers.some(([k, v]) => k === 'Expect' && v !== '100-continue') || /[^\t\x20-\x7e]/.test(c.headers.map((h) => h[1]).join(''));
  const fromApp = /^content-type:/im.test(r.head);
  if (r.status !== undefined && r.status >= 400 && fromApp && !/^content-type:\s*application\/json/im.test(r.head)) {
    problems.push(`a ${r.status} that is not JSON`);
  } else if (r.status !== undefined && r.status >= 400 && fromApp) {
    try {
      const error = JSON.parse(r.body).error;
      // `/mcp` answers in JSON-RPC's shape: `error` is `{code, message}` there (docs/mcp.md).
      const message = c.target.split('?')[0] === '/mcp' && error && typeof error === 'object' ? error.message : error;
      if (typeof message !== 'string') problems.push(`a ${r.status} without an error message`);
    } catch {
      if (c.method !== 'HEAD') problems.push(`a ${r.status} whose JSON does not parse`);
    }
  }
  const path = c.target.split('?')[0];
  if (keyed && c.key !== 'valid' && framedWell && !protocolRefusal && !isPublicPath(path) && r.status !== undefined && r.status !== 401) {
    problems.push(`without a valid key: ${r.status}, not 401`);
  }
  return problems.filter((p) => !isKnownDefect(c, r, p));
}

/** A short, reproducible description of a case, for reports. */
export function describeCase(c: HttpCase, r?: HttpResult): string {
  const body = c.body ? (c.body.length > 200 ? `${c.body.subarray(0, 200).toString()}… (${c.body.length} bytes)` : c.body.toString()) : '(none)';
  const headers = c.headers.map(([k, v]) => `${k}: ${v.length > 60 ? `${v.slice(0, 60)}… (${v.length})` : v}`).join(' | ');
  const answer = r ? ` → ${r.status ?? r.ended} ${r.body.slice(0, 200)}` : '';
  return `${c.method} ${c.target.length > 200 ? `${c.target.slice(0, 200)}…` : c.target} key=${c.key} framing=${c.framing} headers=[${headers}] body=${body}${answer}`;
}
