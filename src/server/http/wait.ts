// Long-poll: resolve when a job has news for the caller, or at the deadline, or when the client leaves.
import type { IncomingMessage } from 'node:http';
import type { Job } from '../jobs/job';

export function waitFor(job: Job, hasNews: () => boolean, ms: number, req: IncomingMessage): Promise<void> {
  if (ms <= 0 || hasNews()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      unsubscribe();
      req.off('close', finish);
      resolve();
    };
    const unsubscribe = job.subscribe(() => {
      if (hasNews()) finish();
    });
    const timer = setTimeout(finish, ms);
    req.once('close', finish);
  });
}
