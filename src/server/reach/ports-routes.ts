// `GET /ports` and `POST|DELETE /ports/{port}/expose` (CONTRACT §9).
import { Router } from 'express';
import { HttpError } from '../errors';
import { sendJson } from '../http/respond';
import { TunnelError, type Tunnel } from '../tunnel/tunnel';
import { listeningPorts } from './ports';

/** The running devtunnel, when there is one (the host sets it once the tunnel is up). */
export interface TunnelSlot {
  tunnel: Pick<Tunnel, 'addPort' | 'removePort' | 'state'> | undefined;
}

export function portsRoutes(slot: TunnelSlot): Router {
  const r = Router();
  r.get('/ports', async (_req, res) => {
    sendJson(res, 200, await listeningPorts());
  });
  const tunnelFor = (raw: string): [NonNullable<TunnelSlot['tunnel']>, number] => {
    const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new HttpError(400, 'port must be an integer from 1 to 65535');
    const t = slot.tunnel;
    if (!t || t.state === 'stopped') throw new HttpError(409, 'no devtunnel is running (start the server with --tunnel)');
    return [t, port];
  };
  const tunnelFailed = (err: unknown) => {
    if (err instanceof TunnelError) throw new HttpError(502, err.message);
    throw err;
  };
  r.post('/ports/:port/expose', async (req, res) => {
    const [t, port] = tunnelFor(req.params.port);
    const url = await t.addPort(port).catch(tunnelFailed);
    sendJson(res, 200, { port, url });
  });
  r.delete('/ports/:port/expose', async (req, res) => {
    const [t, port] = tunnelFor(req.params.port);
    await t.removePort(port).catch(tunnelFailed);
    sendJson(res, 200, { port, exposed: false });
  });
  return r;
}
