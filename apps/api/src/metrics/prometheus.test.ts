import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterSnapshot } from './snapshot.js';
import { createPrometheus } from './prometheus.js';
import { INFRA_DIR } from '../testing/grafana-dashboards.js';
import { promtoolCheck } from '../testing/promtool.js';

const snapshot = (): ClusterSnapshot => ({
  jobsByState: { queued: 1, parked: 0, running: 1, succeeded: 3, failed: 0, cancelled: 1 },
  jobs: [
    {
      id: 'j-a',
      model: 'lenet5',
      state: 'running',
      replicas: 2,
      epoch: 2,
      epochs: 3,
      last: {
        epoch: 2,
        trainLoss: 0.2,
        trainAcc: 0.94,
        testLoss: 0.15,
        testAcc: 0.96,
        seconds: 3,
        imagesPerSec: 1234.5,
        backend: 'cpu',
      },
      liveImagesPerSec: 1300,
      lostTrainers: 1,
      ranks: 2,
    },
    { id: 'j-b', model: 'mlp', state: 'queued', replicas: 1, epoch: 0, epochs: 10 },
  ],
  trainers: [
    {
      id: 't1',
      host: 'h',
      pid: 1,
      backend: 'cpu',
      state: 'busy',
      jobId: 'j-a',
      rank: 0,
      startedAt: 'x',
      lastSeen: 'y',
    },
    { id: 't2', host: 'h', pid: 2, backend: 'cpu', state: 'idle', startedAt: 'x', lastSeen: 'y' },
  ],
  trainersWanted: 3,
  errors: 0,
});

describe('createPrometheus', () => {
  it('renders the cluster gauges and request metrics; promtool accepts the text', async () => {
    let s = snapshot();
    const m = createPrometheus({ snapshot: async () => s });
    m.observe({ method: 'GET', route: '/v1/jobs/:id', status: 200, seconds: 0.012 });
    m.observe({ method: 'POST', route: '/v1/jobs', status: 400, seconds: 0.003 });
    const { contentType, body } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of [
      'mnist_jobs{state="succeeded"} 3',
      'mnist_jobs{state="failed"} 0',
      'mnist_job_epoch{job_id="j-a",model="lenet5"} 2',
      'mnist_job_loss{job_id="j-a",model="lenet5",split="test"} 0.15',
      'mnist_job_accuracy_ratio{job_id="j-a",model="lenet5",split="train"} 0.94',
      'mnist_job_images_per_second{job_id="j-a",model="lenet5"} 1234.5',
      'mnist_job_live_images_per_second{job_id="j-a",model="lenet5"} 1300',
      'mnist_job_info{job_id="j-b",model="mlp",state="queued",replicas="1"} 1',
      'mnist_job_trainers_lost{job_id="j-a",model="lenet5"} 1',
      'mnist_trainers_up 2',
      'mnist_trainers_busy 1',
      'mnist_trainers_wanted 3',
      'mnist_job_ranks{job_id="j-a",model="lenet5"} 2',
      'mnist_api_requests_total{method="GET",route="/v1/jobs/:id",status="200"} 1',
      'mnist_api_request_duration_seconds_bucket{method="GET",route="/v1/jobs/:id",status="200",le="0.025"} 1',
    ]) {
      expect(body).toContain(line);
    }
    expect(body).toMatch(/^process_cpu_seconds_total /m);
    expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });

    // Series of jobs that left the snapshot disappear at the next scrape.
    s = { ...snapshot(), jobs: [] };
    expect((await m.render()).body).not.toContain('j-a');
  });

  it("uses no label Prometheus attaches to the target (job, instance, prometheus.yml's static labels)", async () => {
    const m = createPrometheus({ snapshot: async () => snapshot() });
    m.observe({ method: 'GET', route: '/', status: 200, seconds: 0.1 });
    const used = new Set([...(await m.render()).body.matchAll(/[{,]([A-Za-z_]\w*)="/g)].map((x) => x[1]!));
    const config = readFileSync(join(INFRA_DIR, 'prometheus', 'prometheus.yml'), 'utf8');
    const staticLabels = [...config.matchAll(/^\s+labels:\n((?:\s+\w+: .*\n)+)/gm)].flatMap((x) =>
      [...x[1]!.matchAll(/^\s+(\w+):/gm)].map((y) => y[1]!),
    );
    expect(staticLabels).toContain('cluster');
    const reserved = ['job', 'instance', ...staticLabels];
    expect(used).toContain('job_id');
    expect([...used].filter((l) => reserved.includes(l))).toEqual([]);
  });

  it('promtool does fail on bad exposition text (the check can fail)', () => {
    expect(promtoolCheck('# TYPE x counter\nx 1\n').status).not.toBe(0);
  });
});
