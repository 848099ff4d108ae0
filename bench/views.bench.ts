// What the editor's views cost with hundreds of jobs (src/extension/activity.ts): how many refreshes the
// feed sends for a burst of jobs (against the job changes the server announces, each of which would be a
// refresh without the coalescing), and the time to build every row of a full refresh with 500 jobs kept
// (of which the view shows the unfinished and the RECENT_JOBS_SHOWN latest), against 50, in the same run.
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { ActivityFeed, jobRow, type ServerSource } from '../src/extension/activity';
import { KeyStore } from '../src/server/auth';
import { startServer, type AgentServer } from '../src/server/server';
import { tempDir } from '../test/helpers/server';
import { line, median, ms } from './lib';

const JOBS = 500;

class Source extends EventEmitter implements ServerSource {
  constructor(readonly server: AgentServer) {
    super();
  }
}

/** The time to build every row of the Jobs view (what a full refresh asks of the tree), median of rounds. */
function fullRefreshMs(feed: ActivityFeed, rounds = 50): { ms: number; rows: number } {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    const jobs = feed.jobs();
    for (const j of jobs) jobRow(j.record);
    times.push(performance.now() - t);
    rows = jobs.length;
  }
  return { ms: median(times), rows };
}

async function main() {
  const stateDir = tempDir('ar-bench-views-');
  const server = await startServer(
    { port: 0, terminalPort: -1, stateDir, maxConcurrentJobs: 16 },
    { keys: new KeyStore('bench-key-0123456789abcdefghijklmnopqrstuvwxyz', 'option') },
  );
  const feed = new ActivityFeed(new Source(server));
  let changes = 0;
  let refreshes = 0;
  const off = server.manager.onJobChange(() => changes++);
  feed.on('jobs', () => refreshes++);
  try {
    const submit = (n: number) => {
      for (let i = 0; i < n; i++) server.manager.submit({ command: 'true' });
    };
    const allDone = () =>
      new Promise<void>((resolve) => {
        const check = () => (server.manager.activeCount() === 0 ? resolve() : setTimeout(check, 20));
        check();
      });
    submit(50);
    await allDone();
    await new Promise((r) => setTimeout(r, 400));
    const base = fullRefreshMs(feed);
    changes = 0;
    refreshes = 0;
    const t = performance.now();
    submit(JOBS - 50);
    await allDone();
    const burstMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, 400));
    const full = fullRefreshMs(feed);
    console.log(`views: ${JOBS} shell jobs (\`true\`), 16 at once, in ${burstMs.toFixed(0)} ms`);
    line('job changes the server announced', String(changes), '(each a refresh without coalescing)');
    line('refreshes the feed sent', String(refreshes), `${(changes / Math.max(1, refreshes)).toFixed(1)}× fewer`);
    line(`full refresh, 50 jobs: ${base.rows} rows (baseline)`, ms(base.ms));
    line(`full refresh, ${server.manager.store.size()} jobs: ${full.rows} rows`, ms(full.ms), `${(full.ms / base.ms).toFixed(1)}× the baseline`);
  } finally {
    off();
    feed.dispose();
    await server.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
