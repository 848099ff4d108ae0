// Long-poll: resolve when a job has news for the caller, or at the deadline, or when the client leaves.
import type { ServerResponse } from 'node:http';
import type { Job } from '../jobs/job';

/**
 * The response's 'close' (not the request's, which fires once its body is read) tells that the client left.
 * A caller that awaits the promise itself answers before the job's log watch may stop (see `finish`);
 * wrapping the promise (`.then`, `Promise.race`) would put the answer after it.
 */
export function waitFor(job: Job, hasNews: () => boolean, ms: number, res: ServerResponse): Promise<void> {
  if (ms <= 0 || hasNews()) return Promise.resolve();
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      res.off('close', finish);
      resolve();
      // Unsubscribing may close the watch on the job's logs: done after the caller's answer (whose
      // continuation `resolve` has just queued), it no longer delays it.
      queueMicrotask(unsubscribe);
    };
    const unsubscribe = job.subscribe(() => {
      if (hasNews()) finish();
    });
    const timer = setTimeout(finish, ms);
    res.once('close', finish);
  });
}
