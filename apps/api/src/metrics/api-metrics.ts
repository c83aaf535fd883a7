import type { ApiMetrics, RequestObservation } from '../deps.js';
import {
  Counter,
  EXPOSITION_CONTENT_TYPE,
  Histogram,
  renderExposition,
  type Labels,
  type MetricFamily,
  type Sample,
} from './exposition.js';
import type { ClusterSnapshot } from './snapshot.js';

export interface ApiMetricsOptions {
  /** Reads the cluster at scrape time (createSnapshotter). */
  snapshot: () => Promise<ClusterSnapshot>;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const gauge = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, help, type: 'gauge', samples });

/** The cluster gauges of one snapshot: rebuilt per scrape, so series of jobs that left it disappear. */
export function clusterFamilies(s: ClusterSnapshot): MetricFamily[] {
  const perJob = (pick: (j: ClusterSnapshot['jobs'][number], l: Labels) => Sample[]) =>
    s.jobs.flatMap((j) => pick(j, { job_id: j.id, model: j.model }));
  return [
    gauge(
      'mnist_jobs',
      'Jobs by state.',
      Object.entries(s.jobsByState).map(([state, value]) => ({ labels: { state }, value })),
    ),
    gauge(
      'mnist_job_info',
      'One series per recent job: its model, state and replicas (value 1).',
      perJob((j, l) => [{ labels: { ...l, state: j.state, replicas: String(j.replicas) }, value: 1 }]),
    ),
    gauge(
      'mnist_job_epoch',
      'Last completed epoch of the job.',
      perJob((j, l) => [{ labels: l, value: j.epoch }]),
    ),
    gauge(
      'mnist_job_epochs',
      'Epochs the job trains for.',
      perJob((j, l) => [{ labels: l, value: j.epochs }]),
    ),
    gauge(
      'mnist_job_loss',
      'Cross-entropy loss at the last completed epoch (split: train = epoch mean, test = evaluation).',
      perJob((j, l) =>
        j.last
          ? [
              { labels: { ...l, split: 'train' }, value: j.last.trainLoss },
              { labels: { ...l, split: 'test' }, value: j.last.testLoss },
            ]
          : [],
      ),
    ),
    gauge(
      'mnist_job_accuracy_ratio',
      'Accuracy (0..1) at the last completed epoch.',
      perJob((j, l) =>
        j.last
          ? [
              { labels: { ...l, split: 'train' }, value: j.last.trainAcc },
              { labels: { ...l, split: 'test' }, value: j.last.testAcc },
            ]
          : [],
      ),
    ),
    gauge(
      'mnist_job_images_per_second',
      'Training images per second over the last completed epoch.',
      perJob((j, l) => (j.last ? [{ labels: l, value: j.last.imagesPerSec }] : [])),
    ),
    gauge(
      'mnist_job_live_images_per_second',
      'Training images per second from the latest progress event of a running job.',
      perJob((j, l) => (j.liveImagesPerSec !== undefined ? [{ labels: l, value: j.liveImagesPerSec }] : [])),
    ),
    gauge(
      'mnist_job_trainers_lost',
      'Running job: trainers its record names that have no heartbeat (gone while holding the job).',
      perJob((j, l) => (j.lostTrainers !== undefined ? [{ labels: l, value: j.lostTrainers }] : [])),
    ),
    gauge(
      'mnist_job_ranks',
      'Running job: ranks in its group now (an elastic job changes it at each resize).',
      perJob((j, l) => (j.ranks !== undefined ? [{ labels: l, value: j.ranks }] : [])),
    ),
    gauge('mnist_trainers_up', 'Trainers with a heartbeat within the TTL.', [{ value: s.trainers.length }]),
    gauge('mnist_trainers_busy', 'Trainers working on a job.', [
      { value: s.trainers.filter((t) => t.state === 'busy').length },
    ]),
    gauge(
      'mnist_trainers_wanted',
      'More trainers the fleet could use now: waiting jobs at their minimum plus elastic growth, less idle trainers.',
      [{ value: s.trainersWanted }],
    ),
    gauge(
      'mnist_trainer_info',
      'One series per live trainer (value 1).',
      s.trainers.map((t) => ({
        labels: { trainer: t.id, host: t.host, backend: t.backend, state: t.state },
        value: 1,
      })),
    ),
  ];
}

/**
 * The API's metrics on any runtime: cluster gauges recomputed from a snapshot on every
 * scrape (no state of their own); only the request counter and histogram are per-process,
 * as Prometheus expects.
 */
export function createApiMetrics(o: ApiMetricsOptions): ApiMetrics {
  const requests = new Counter(
    'mnist_api_requests_total',
    'HTTP requests answered, by route pattern and status.',
    true,
  );
  const latency = new Histogram(
    'mnist_api_request_duration_seconds',
    'Time to the response head, by route pattern and status.',
    LATENCY_BUCKETS,
  );
  const scrapeErrors = new Counter(
    'mnist_api_scrape_errors_total',
    'Cluster reads that failed while building a scrape.',
  );
  return {
    observe: (r: RequestObservation) => {
      const labels = { method: r.method, route: r.route, status: String(r.status) };
      requests.inc(labels);
      latency.observe(labels, r.seconds);
    },
    render: async () => {
      const s = await o.snapshot();
      if (s.errors > 0) scrapeErrors.inc({}, s.errors);
      const families = [requests.family(), latency.family(), scrapeErrors.family(), ...clusterFamilies(s)];
      return { contentType: EXPOSITION_CONTENT_TYPE, body: renderExposition(families) };
    },
  };
}
