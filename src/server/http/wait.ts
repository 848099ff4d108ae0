// Long-poll: resolve when a job has news for the caller, or at the deadline, or when the client leaves; and
// the turn of a pipelined request's answer.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Job } from '../jobs/job';

/**
 * The caller leaving ends the wait: a response's 'close' (not the request's, which fires once its body is
 * read), or an abort signal (an MCP tool call whose connection closed).
 * A caller that awaits the promise itself answers before the job's log watch may stop (see `finish`);
 * wrapping the promise (`.then`, `Promise.race`) would put the answer after it.
 */
export function waitFor(job: Job, hasNews: () => boolean, ms: number, until: ServerResponse | AbortSignal): Promise<void> {
  if (ms <= 0 || hasNews()) return Promise.resolve();
  if (isSignal(until) && until.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (isSignal(until)) until.removeEventListener('abort', finish);
      else until.off('close', finish);
      resolve();
      // Unsubscribing may close the watch on the job's logs: done after the caller's answer (whose
      // continuation `resolve` has just queued), it no longer delays it.
      queueMicrotask(unsubscribe);
    };
    const unsubscribe = job.subscribe(() => {
      if (hasNews()) finish();
    });
    const timer = setTimeout(finish, ms);
    if (isSignal(until)) until.addEventListener('abort', finish, { once: true });
    else until.once('close', finish);
  });
}

function isSignal(until: ServerResponse | AbortSignal): until is AbortSignal {
  return 'aborted' in until;
}

/**
 * Resolves true once `res` is its connection's current answer, false if the client left first. A client
 * may pipeline many requests and read nothing: node runs every handler at once and holds all their answers
 * until the ones before have gone out, so a handler that builds a large answer (a job's output) waits
 * here, and a connection holds at most one built answer beyond what the kernel buffers.
 */
export function whenCurrent(res: ServerResponse): Promise<boolean> {
  if (res.socket) return Promise.resolve(true);
  const socket = res.req.socket;
  if (socket.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const left = onClose(socket, () => {
      res.off('socket', assigned);
      resolve(false);
    });
    const assigned = () => {
      left();
      resolve(true);
    };
    res.once('socket', assigned);
  });
}

/** One 'close' listener per connection, however many pipelined requests wait on it (see whenCurrent). */
const closeWaiters = new WeakMap<Socket, Set<() => void>>();

function onClose(socket: Socket, callback: () => void): () => void {
  let waiters = closeWaiters.get(socket);
  if (!waiters) {
    const set = new Set<() => void>();
    closeWaiters.set(socket, set);
    socket.once('close', () => {
      closeWaiters.delete(socket);
      for (const waiter of set) waiter();
    });
    waiters = set;
  }
  waiters.add(callback);
  return () => waiters.delete(callback);
}
