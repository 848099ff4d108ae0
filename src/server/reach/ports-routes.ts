// `GET /ports` and `POST|DELETE /ports/{port}/expose` (docs/files.md).
import { HttpError } from '../errors';
import { sendJson } from '../http/respond';
import type { Method, RouteSpec } from '../http/route-spec';
import { error, int, json, obj, pathParam, str } from '../http/schema';
import { TunnelError, type Tunnel } from '../tunnel/tunnel';
import { listeningPorts } from './ports';

/** The running devtunnel, when there is one (the host sets it once the tunnel is up). */
export interface TunnelSlot {
  tunnel: Pick<Tunnel, 'addPort' | 'removePort' | 'state'> | undefined;
}

export function portsRoutes(slot: TunnelSlot): RouteSpec[] {
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
  const expose = (method: Method, summary: string, answers: Record<string, unknown>, handler: RouteSpec['handler']): RouteSpec => ({
    method,
    path: '/ports/:port/expose',
    auth: 'key',
    doc: {
      summary,
      parameters: [pathParam('port', { type: 'integer', minimum: 1, maximum: 65535 })],
      responses: {
        '200': json(answers),
        '400': error('not a port number'),
        '409': error('no devtunnel is running'),
        '502': error('the devtunnel CLI failed'),
      },
    },
    handler,
  });
  return [
    {
      method: 'get',
      path: '/ports',
      auth: 'key',
      doc: {
        summary: 'TCP ports listening on this machine, with pid and process when the OS tells',
        responses: {
          '200': json(
            obj(
              {
                ports: {
                  type: 'array',
                  items: obj({ port: int, address: str, pid: { type: ['integer', 'null'] }, process: { type: ['string', 'null'] } }, [
                    'port',
                    'address',
                    'pid',
                    'process',
                  ]),
                },
                source: { type: 'string', enum: ['procfs', 'lsof', 'netstat', 'none'] },
                note: str,
              },
              ['ports', 'source'],
            ),
          ),
        },
      },
      handler: async (_req, res) => sendJson(res, 200, await listeningPorts()),
    },
    expose('post', 'Forward a local port through the running devtunnel; answers its public URL', obj({ port: int, url: str }), async (req, res) => {
      const [t, port] = tunnelFor(String(req.params.port));
      const url = await t.addPort(port).catch(tunnelFailed);
      sendJson(res, 200, { port, url });
    }),
    expose('delete', 'Stop forwarding a port', obj({ port: int, exposed: { type: 'boolean' } }), async (req, res) => {
      const [t, port] = tunnelFor(String(req.params.port));
      await t.removePort(port).catch(tunnelFailed);
      sendJson(res, 200, { port, exposed: false });
    }),
  ];
}
