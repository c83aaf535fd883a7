import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ApiMetrics } from '../deps.js';
import { createApiMetrics, type ApiMetricsOptions } from './api-metrics.js';

export interface PrometheusOptions extends ApiMetricsOptions {
  /** process_* and nodejs_* metrics of this process (default true). */
  processMetrics?: boolean;
}

const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * The Node shell's metrics: the API's own (createApiMetrics, shared with the edge) followed
 * by prom-client's process_* and nodejs_* metrics, which need Node and stay here.
 */
export function createPrometheus(o: PrometheusOptions): ApiMetrics {
  const api = createApiMetrics(o);
  if (!(o.processMetrics ?? true)) return api;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters: `promtool check metrics` rejects them; the handle counts are noise anyway.
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  return {
    observe: api.observe,
    render: async () => {
      const own = await api.render();
      return { contentType: own.contentType, body: own.body + (await registry.metrics()) };
    },
  };
}
