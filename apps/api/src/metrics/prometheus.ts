import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiMetrics, RequestObservation } from '../deps.js';
import type { ClusterSnapshot } from './snapshot.js';

export interface PrometheusOptions {
  /** Reads the cluster at scrape time (createSnapshotter). */
  snapshot: () => Promise<ClusterSnapshot>;
  /** process_* and nodejs_* metrics of this process (default true). */
  processMetrics?: boolean;
}

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The API's Prometheus registry (prom-client: Node only, hence outside app.ts). Cluster
 * gauges are recomputed from a snapshot on every scrape, so they hold no state of their own;
 * only the request counter and histogram are per-process, as Prometheus expects.
 */
export function createPrometheus(o: PrometheusOptions): ApiMetrics & { registry: Registry } {
  const registry = new Registry();
  if (o.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters: `promtool check metrics` rejects them; the handle counts are noise anyway.
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }
  const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

  const requests = new Counter({ name: 'mnist_api_requests_total', help: 'HTTP requests answered, by route pattern and status.', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({ name: 'mnist_api_request_duration_seconds', help: 'Time to the response head, by route pattern and status.', labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const scrapeErrors = new Counter({ name: 'mnist_api_scrape_errors_total', help: 'Cluster reads that failed while building a scrape.', registers: [registry] });

  const jobs = g('mnist_jobs', 'Jobs by state.', ['state']);
  const jobInfo = g('mnist_job_info', 'One series per recent job: its model, state and replicas (value 1).', ['job_id', 'model', 'state', 'replicas']);
  const jobEpoch = g('mnist_job_epoch', 'Last completed epoch of the job.', ['job_id', 'model']);
  const jobEpochs = g('mnist_job_epochs', 'Epochs the job trains for.', ['job_id', 'model']);
  const loss = g('mnist_job_loss', 'Cross-entropy loss at the last completed epoch (split: train = epoch mean, test = evaluation).', ['job_id', 'model', 'split']);
  const accuracy = g('mnist_job_accuracy_ratio', 'Accuracy (0..1) at the last completed epoch.', ['job_id', 'model', 'split']);
  const throughput = g('mnist_job_images_per_second', 'Training images per second over the last completed epoch.', ['job_id', 'model']);
  const live = g('mnist_job_live_images_per_second', 'Training images per second from the latest progress event of a running job.', ['job_id', 'model']);
  const lost = g('mnist_job_trainers_lost', "Running job: trainers its record names that have no heartbeat (gone while holding the job).", ['job_id', 'model']);
  const trainersUp = g('mnist_trainers_up', 'Trainers with a heartbeat within the TTL.');
  const trainersBusy = g('mnist_trainers_busy', 'Trainers working on a job.');
  const trainerInfo = g('mnist_trainer_info', 'One series per live trainer (value 1).', ['trainer', 'host', 'backend', 'state']);
  const clusterGauges = [jobs, jobInfo, jobEpoch, jobEpochs, loss, accuracy, throughput, live, lost, trainersUp, trainersBusy, trainerInfo];

  /** Synchronous: no scrape can interleave between the reset and the last set. */
  const apply = (s: ClusterSnapshot) => {
    for (const m of clusterGauges) m.reset();
    for (const [state, n] of Object.entries(s.jobsByState)) jobs.set({ state }, n);
    for (const j of s.jobs) {
      const l = { job_id: j.id, model: j.model };
      jobInfo.set({ ...l, state: j.state, replicas: String(j.replicas) }, 1);
      jobEpoch.set(l, j.epoch);
      jobEpochs.set(l, j.epochs);
      if (j.last) {
        loss.set({ ...l, split: 'train' }, j.last.trainLoss);
        loss.set({ ...l, split: 'test' }, j.last.testLoss);
        accuracy.set({ ...l, split: 'train' }, j.last.trainAcc);
        accuracy.set({ ...l, split: 'test' }, j.last.testAcc);
        throughput.set(l, j.last.imagesPerSec);
      }
      if (j.liveImagesPerSec !== undefined) live.set(l, j.liveImagesPerSec);
      if (j.lostTrainers !== undefined) lost.set(l, j.lostTrainers);
    }
    trainersUp.set(s.trainers.length);
    trainersBusy.set(s.trainers.filter((t) => t.state === 'busy').length);
    for (const t of s.trainers) trainerInfo.set({ trainer: t.id, host: t.host, backend: t.backend, state: t.state }, 1);
    if (s.errors > 0) scrapeErrors.inc(s.errors);
  };

  // One scrape at a time: each renders the snapshot it applied.
  let queue: Promise<unknown> = Promise.resolve();
  const render = async () => {
    const s = await o.snapshot();
    apply(s);
    return { contentType: registry.contentType, body: await registry.metrics() };
  };

  return {
    registry,
    observe: (r: RequestObservation) => {
      const labels = { method: r.method, route: r.route, status: String(r.status) };
      requests.inc(labels);
      latency.observe(labels, r.seconds);
    },
    render: () => {
      const next = queue.then(render, render);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
