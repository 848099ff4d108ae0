// Long-poll: resolve when a job has news for the caller, or at the deadline, or when the client leaves.
import type { ServerResponse } from 'node:http';
import type { Job } from '../jobs/job';

// The response's 'close' (not the request's, which fires once its body is read) tells that the client left.
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
      // After the caller's answer, whose continuation `resolve` has just queued: unsubscribing can stop
      // the watch on the job's logs, which costs more than the answer.
      queueMicrotask(unsubscribe);
    };
    const unsubscribe = job.subscribe(() => {
      if (hasNews()) finish();
    });
    const timer = setTimeout(finish, ms);
    res.once('close', finish);
  });
}
