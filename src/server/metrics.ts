// `GET /metrics`: Prometheus text (prom-client) for an operator's scraper: the process (prom-client's
// default figures), jobs by mode and final status, their durations, running jobs, terminal sessions, ACP
// turns, bytes of output. It takes the key as `X-API-Key` or `Authorization: Bearer KEY` (a stock
// Prometheus sends the latter with `authorization: {credentials: KEY}`).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RouteSpec } from './http/route-spec';
import type { JobManager } from './jobs/manager';

export interface MetricsSources {
  manager: JobManager;
  terminalSessions(): number;
  fileWatches(): number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly unsubscribe: () => void;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const jobs = new Counter({
      name: 'agent_runtime_jobs_total',
      help: 'Jobs that reached a final status, by mode and status',
      labelNames: ['mode', 'status'],
      registers,
    });
    const durations = new Histogram({
      name: 'agent_runtime_job_duration_seconds',
      help: 'Run time of finished jobs, by mode',
      labelNames: ['mode'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600],
      registers,
    });
    const output = new Counter({
      name: 'agent_runtime_job_output_bytes_total',
      help: 'Bytes of output of finished jobs, by stream',
      labelNames: ['stream'],
      registers,
    });
    const turns = new Counter({
      name: 'agent_runtime_acp_turns_total',
      help: 'ACP prompt turns that ended (one per acp job), by status',
      labelNames: ['status'],
      registers,
    });
    new Gauge({
      name: 'agent_runtime_jobs_running',
      help: 'Jobs running now',
      registers,
      collect() {
        this.set(sources.manager.runningJobs());
      },
    });
    new Gauge({
      name: 'agent_runtime_jobs_pending',
      help: 'Jobs waiting for a free slot',
      registers,
      collect() {
        this.set(sources.manager.activeCount() - sources.manager.runningJobs());
      },
    });
    new Gauge({
      name: 'agent_runtime_terminal_sessions',
      help: 'Terminal sessions open now',
      registers,
      collect() {
        this.set(sources.terminalSessions());
      },
    });
    new Gauge({
      name: 'agent_runtime_file_watches',
      help: 'File watch streams open now',
      registers,
      collect() {
        this.set(sources.fileWatches());
      },
    });
    this.unsubscribe = sources.manager.onJobChange((job, change) => {
      if (change !== 'ended') return;
      const r = job.record;
      jobs.inc({ mode: r.mode, status: r.status });
      durations.observe({ mode: r.mode }, (r.durationMs ?? 0) / 1000);
      output.inc({ stream: 'stdout' }, job.stdout.size());
      output.inc({ stream: 'stderr' }, job.stderr.size());
      if (r.mode === 'acp') turns.inc({ status: r.status });
    });
  }

  dispose(): void {
    this.unsubscribe();
  }

  /** The route, behind the key (a scraper sends it as a bearer token). */
  routes(): RouteSpec[] {
    return [
      {
        method: 'get',
        path: '/metrics',
        auth: 'key',
        doc: {
          summary: 'Prometheus text: process figures, jobs by mode and status, durations, running jobs, terminals, ACP turns, output bytes',
          responses: { '200': { description: 'Prometheus text format 0.0.4', content: { 'text/plain': {} } } },
        },
        handler: async (_req, res) => {
          const text = await this.registry.metrics();
          res.writeHead(200, { 'Content-Type': this.registry.contentType, 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
        },
      },
    ];
  }
}
