// `GET /files/watch`: changes under a folder as Server-Sent Events, from the native watcher VS Code itself
// uses (@parcel/watcher: inotify, FSEvents, ReadDirectoryChangesW). A rename arrives as a `delete` of the
// old name and a `create` of the new. When the watched folder itself goes, the stream says so and ends.
import { promises as fsp } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join, relative } from 'node:path';
import { HttpError } from '../errors';
import { typeOf } from './listing';
import type { OpenDir } from './roots';

/** A comment line this often keeps proxies and tunnels from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;
/** How often the watched folder itself is checked (a watcher does not always report its own removal). */
const ROOT_CHECK_MS = 1000;
/** Bytes a client may leave unread before its stream is ended (a reader that stopped reading). */
const MAX_UNREAD_BYTES = 4 << 20;

type Parcel = typeof import('@parcel/watcher');
let parcel: Parcel | null | undefined;
let loadError = '';

/** The native watcher, or null when it cannot load on this platform (then watching answers 501). */
export function nativeWatcher(): Parcel | null {
  if (parcel === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      parcel = require('@parcel/watcher') as Parcel;
    } catch (err) {
      parcel = null;
      loadError = (err as Error).message;
    }
  }
  return parcel;
}

export class Watches {
  private active = 0;

  constructor(private readonly maxWatches: number) {}

  count(): number {
    return this.active;
  }

  /**
   * Streams the changes under the opened folder `dir` (shown to the client as `shown`) until the client
   * leaves or the folder goes; `dir` is closed then. The watcher takes a path (inotify refuses a
   * descriptor's), so the path is checked to still be the opened folder once the watch is set up, and
   * every second after: a folder swapped for another ends the stream.
   */
  async stream(dir: OpenDir, shown: string, recursive: boolean, res: ServerResponse): Promise<void> {
    const watcher = nativeWatcher();
    if (!watcher) throw new HttpError(501, `file watching is not available on this platform: ${loadError}`);
    if (this.active >= this.maxWatches) throw new HttpError(429, `too many watches at once (filesMaxWatches ${this.maxWatches})`);
    const real = dir.real;
    const root = await fsp.stat(dir.at('.'));
    this.active++;
    let closed = false;
    let subscription: { unsubscribe(): Promise<void> } | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      this.active--;
      clearInterval(heartbeat);
      clearInterval(rootCheck);
      void (subscription?.unsubscribe() ?? Promise.resolve()).catch(() => undefined).then(() => dir.close());
      if (res.headersSent && !res.writableEnded) res.end();
    };
    const send = (event: string, data: unknown) => {
      if (closed) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > MAX_UNREAD_BYTES) {
        res.write(`event: error\ndata: ${JSON.stringify({ error: 'the client read too slowly; watch again' })}\n\n`);
        close();
      }
    };
    const gone = () => {
      send('delete', { path: shown, type: 'directory' });
      send('end', { reason: 'the watched folder was deleted or replaced' });
      close();
    };
    const heartbeat = setInterval(() => !closed && res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const rootCheck = setInterval(() => {
      fsp.stat(real).then(
        (st) => (st.ino !== root.ino || st.dev !== root.dev ? gone() : undefined),
        () => gone(),
      );
    }, ROOT_CHECK_MS);
    res.once('close', close);
    try {
      subscription = await watcher.subscribe(real, (err, events) => {
        if (closed) return;
        if (err) return send('error', { error: err.message });
        for (const e of events) {
          if (e.path === real) {
            if (e.type === 'delete') return gone();
            continue;
          }
          if (!recursive && dirname(e.path) !== real) continue;
          const path = join(shown, relative(real, e.path));
          const kind = e.type === 'update' ? 'change' : e.type;
          if (kind === 'delete') send(kind, { path, type: null });
          else
            fsp.lstat(e.path).then(
              (st) => send(kind, { path, type: typeOf(st) }),
              () => send(kind, { path, type: null }),
            );
        }
      });
      const now = await fsp.stat(real);
      if (now.ino !== root.ino || now.dev !== root.dev) throw new HttpError(409, `${shown} changed while the watch was set up; try again`);
    } catch (err) {
      close();
      throw err;
    }
    if (closed) return;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 1000\n\nevent: ready\ndata: ${JSON.stringify({ path: shown, recursive })}\n\n`);
  }
}
