// A TCP proxy in front of the real server that cuts connections for real (destroys both sockets), so the
// client's resumption is tested against a drop, not a polite end of stream.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface CutProxy {
  url: string;
  /** Connections made through the proxy so far. */
  connections(): number;
  /** Cuts every open connection now. */
  cutAll(): void;
  /** From now on, cuts each connection once it has carried this many bytes to the client (0: never). */
  cutAfter(bytes: number): void;
  close(): Promise<void>;
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<{ client: Socket; upstream: Socket }>();
  let limit = 0;
  let count = 0;
  const server: Server = createServer((client) => {
    count++;
    const upstream = connect(Number(port), hostname);
    const pair = { client, upstream };
    open.add(pair);
    let carried = 0;
    const cut = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (limit > 0 && carried + d.length > limit) {
        // The part up to the limit goes out, then the cut: mid-event, most likely.
        client.write(d.subarray(0, limit - carried), cut);
        carried = limit;
        return;
      }
      carried += d.length;
      client.write(d);
    });
    client.on('close', cut);
    upstream.on('close', cut);
    client.on('error', cut);
    upstream.on('error', cut);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    connections: () => count,
    cutAll: () => {
      for (const p of [...open]) {
        p.client.destroy();
        p.upstream.destroy();
        open.delete(p);
      }
    },
    cutAfter: (bytes) => (limit = bytes),
    close: () =>
      new Promise<void>((r) => {
        for (const p of open) {
          p.client.destroy();
          p.upstream.destroy();
        }
        server.close(() => r());
      }),
  };
}
