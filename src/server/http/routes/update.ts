// `POST /update`: refused (409) while anything is active, as the seed; otherwise the host decides what
// an update means (the CLI exits 42 for its wrapper; the extension defers to the marketplace).
import { Router } from 'express';
import { HttpError } from '../../errors';

export interface UpdateHost {
  /** The seed's 409 body when work is active, else undefined. */
  busy(): Record<string, unknown> | undefined;
  /** Called once nothing is active: the answer, and what to do after it is sent. */
  update(body: Record<string, unknown>): { response: Record<string, unknown>; after?: () => void };
}

export function updateRoutes(host: UpdateHost): Router {
  const r = Router();
  r.post('/update', (req, res) => {
    const busy = host.busy();
    if (busy) {
      const { error, ...extra } = busy;
      throw new HttpError(409, String(error), extra);
    }
    const { response, after } = host.update((req.body ?? {}) as Record<string, unknown>);
    res.json(response);
    if (after) res.once('finish', after);
  });
  return r;
}
