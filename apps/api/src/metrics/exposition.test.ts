import { describe, expect, it } from 'vitest';
import { promtoolCheck } from '../testing/promtool.js';
import { createApiMetrics } from './api-metrics.js';
import { Counter, Histogram, renderExposition } from './exposition.js';

describe('renderExposition', () => {
  it('escapes help and label values, formats special values', () => {
    const text = renderExposition([
      {
        name: 'a_total',
        help: 'back\\slash\nnewline',
        type: 'counter',
        samples: [{ labels: { p: 'say "hi"\\\n' }, value: 2 }],
      },
      { name: 'b', help: 'g', type: 'gauge', samples: [{ value: Infinity }, { labels: { x: 'n' }, value: NaN }] },
    ]);
    expect(text).toBe(
      '# HELP a_total back\\\\slash\\nnewline\n# TYPE a_total counter\na_total{p="say \\"hi\\"\\\\\\n"} 2\n' +
        '# HELP b g\n# TYPE b gauge\nb +Inf\nb{x="n"} NaN\n',
    );
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('counts histogram buckets cumulatively, with sum and count; one series per label set in any order', () => {
    const h = new Histogram('d_seconds', 'd', [0.1, 1]);
    h.observe({ a: '1', b: '2' }, 0.05);
    h.observe({ b: '2', a: '1' }, 0.5);
    h.observe({ a: '1', b: '2' }, 5);
    const text = renderExposition([h.family()]);
    expect(text).toContain('d_seconds_bucket{a="1",b="2",le="0.1"} 1\n');
    expect(text).toContain('d_seconds_bucket{a="1",b="2",le="1"} 2\n');
    expect(text).toContain('d_seconds_bucket{a="1",b="2",le="+Inf"} 3\n');
    expect(text).toContain('d_seconds_sum{a="1",b="2"} 5.55\n');
    expect(text).toContain('d_seconds_count{a="1",b="2"} 3\n');
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('an unlabelled counter reads 0 before its first increment; a labelled one has no series yet', () => {
    expect(renderExposition([new Counter('e_total', 'e').family()])).toContain('\ne_total 0\n');
    expect(renderExposition([new Counter('f_total', 'f', true).family()])).not.toMatch(/^f_total/m);
  });

  it('the edge metrics (no process metrics) pass promtool, empty and after requests', async () => {
    const empty = {
      jobsByState: { queued: 0, parked: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
      jobs: [],
      trainers: [],
      trainersWanted: 0,
      errors: 1,
    };
    const m = createApiMetrics({ snapshot: async () => empty });
    const first = await m.render();
    expect(promtoolCheck(first.body)).toEqual({ status: 0, output: '' });
    expect(first.body).toContain('\nmnist_api_scrape_errors_total 1\n');
    m.observe({ method: 'GET', route: '/v1/jobs', status: 200, seconds: 0.02 });
    const second = (await m.render()).body;
    expect(second).toContain('mnist_api_requests_total{method="GET",route="/v1/jobs",status="200"} 1');
    expect(second).toContain('\nmnist_api_scrape_errors_total 2\n');
    expect(promtoolCheck(second)).toEqual({ status: 0, output: '' });
  });
});
