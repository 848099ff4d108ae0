// JSON answers and errors, written the same way by every route (and by the terminal port's own app).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { BadRequest, HttpError } from '../errors';
import type { Logger } from '../log';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

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
