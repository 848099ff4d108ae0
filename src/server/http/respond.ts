// JSON answers and errors, written the same way by every route (and by the terminal port's own app).
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BadRequest, HttpError } from '../errors';
import type { Logger } from '../log';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

// Whatever was thrown: an HttpError, body-parser's errors (type, status), or anything else.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorSender = (res: ServerResponse, err: any) => void;

/** How a failed request is answered: a 4xx with a clear `error` for what the client sent, a logged 500 for our own bugs. */
export function errorSender(options: { maxBodyBytes: number; logger: Logger }): ErrorSender {
  return (res, err) => {
    if (res.headersSent) {
      // Too late for a status. An answer cut short ends its connection, so it cannot pass for a whole one.
      options.logger.error(`http: after the answer was sent: ${err?.stack ?? err}`);
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (err?.type === 'entity.parse.failed') err = malformedJson(err.message);
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message, ...err.extra });
    if (err?.type === 'entity.too.large') {
      return sendJson(res, 413, { error: `request body is larger than ${options.maxBodyBytes} bytes (maxBodyBytes)` });
    }
    const status = Number(err?.status ?? err?.statusCode);
    if (status >= 400 && status < 500) return sendJson(res, status, { error: String(err.message || 'bad request') });
    options.logger.error(`http: ${err?.stack ?? err}`);
    sendJson(res, 500, { error: 'internal error' });
  };
}

/** A request body that is not JSON. */
export function malformedJson(detail: string): HttpError {
  return new BadRequest(`malformed JSON: ${detail}`);
}

/** The request's target as a URL, or undefined for one that is none (`//[`: node passes any token on). */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/**
 * Answers a request that node hands over as a bare socket (an upgrade, a CONNECT) with a JSON error, and
 * closes it; no WebSocket or tunnel is opened.
 */
export function refuseOnSocket(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  if (socket.writable) {
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  } else socket.destroy();
}

/** No route serves CONNECT: a proxy request gets a clear 405 instead of a connection closed unanswered. */
export const CONNECT_REFUSAL = 'CONNECT is not supported: this is not a proxy';

/**
 * A refused request's body, read and dropped (never parsed) before its connection may close, up to this many
 * bytes. The answer goes out at once; the connection stays open while the rest of the body arrives, because a
 * client that sends a whole body before it reads its answer (most do), on a connection it asked to close,
 * would otherwise find it reset and the answer lost with the unread bytes. A larger body is not waited for.
 */
export const REFUSED_BODY_DRAIN_BYTES = 16 << 20;
/** How long a refused request's connection waits for a body announced and not sent. */
export const REFUSED_BODY_WAIT_MS = 5000;

/** A JSON refusal sent at once, its connection closed only once the request's body is read and dropped. */
export function refuseBeforeBody(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
  if (req.complete || !hasBody || !(declared <= REFUSED_BODY_DRAIN_BYTES)) return sendJson(res, status, body);
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.write(text);
  let seen = 0;
  const done = () => {
    req.off('data', count);
    clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > REFUSED_BODY_DRAIN_BYTES) done();
  };
  const timer = setTimeout(done, REFUSED_BODY_WAIT_MS);
  req.on('data', count);
  req.once('end', done);
  req.once('error', done);
  req.once('close', done);
}
