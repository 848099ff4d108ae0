// `POST /update`: refused (409) while anything is active, as the seed; otherwise the host decides what
// an update means (the CLI exits 42 for its wrapper; the extension defers to the marketplace).
// `{"drain": true}` instead refuses new work (503), waits for the active work to end, then updates.
import { BadRequest, HttpError } from '../../errors';
import { Drain, type DrainTarget } from '../../update/drain';
import { sendJson } from '../respond';
import type { RouteSpec } from '../route-spec';
import { bool, error, json, jsonBody, obj, str } from '../schema';

export interface UpdateHost extends DrainTarget {
  /** Called once nothing is active: the answer, and what to do after it is sent. */
  update(body: Record<string, unknown>): { response: Record<string, unknown>; after?: () => void };
}

const UPDATED = { status: str, version: str, message: str };

export function updateRoutes(host: UpdateHost, drain = new Drain(host)): RouteSpec[] {
  const update: RouteSpec['handler'] = (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('request body must be a JSON object');
    if (body.drain !== undefined && typeof body.drain !== 'boolean') throw new BadRequest('drain must be true or false');
    if (drain.active) {
      sendJson(res, 202, { status: 'draining', ...drain.progress(), message: 'already draining for an update' });
      return;
    }
    const busy = host.busy();
    if (busy && body.drain !== true) {
      const { error, ...extra } = busy;
      throw new HttpError(409, String(error), { ...extra, hint: 'send {"drain": true} to update once the running work ends' });
    }
    const { response, after } = host.update(body);
    if (busy && after) {
      // The host restarts for updates: stop taking work now, restart when the last piece ends.
      drain.start(after);
      const { error: _error, ...waiting } = busy;
      sendJson(res, 202, {
        ...response,
        status: 'draining',
        waiting_for: waiting,
        message: `new work is refused (503) until the running work ends; then: ${String(response.message ?? 'the update')}`,
      });
      return;
    }
    // Idle, or a host that never restarts (the extension): answer now; there is nothing to drain for.
    sendJson(res, 200, response);
    if (after) res.once('finish', after);
  };
  return [
    {
      method: 'post',
      path: '/update',
      auth: 'key',
      doc: {
        summary: 'Restart for an update once idle; with drain, refuse new work and restart when the running work ends',
        requestBody: jsonBody(obj({ drain: bool })),
        responses: {
          '200': json(obj(UPDATED)),
          '202': json(obj({ ...UPDATED, waiting_for: { type: 'object' } }), 'draining'),
          '400': error('bad input'),
          '409': error('work is active'),
        },
      },
      handler: update,
    },
  ];
}
