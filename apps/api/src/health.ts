import { within } from '@mnist/core';
import type { HealthReport } from './deps.js';

/**
 * /healthz's checks (both shells): the broker answers a ping within 2 s, and, where the
 * cluster is opened in the background (Node), its streams and buckets exist.
 */
export function natsHealth(nc: { rtt(): Promise<number> }, isReady?: () => boolean): () => Promise<HealthReport> {
  return async (): Promise<HealthReport> => {
    const nats = await within(
      nc.rtt().then(() => 'ok'),
      2_000,
      'no answer within 2 s',
    ).catch((e: Error) => e.message);
    if (!isReady) return { ok: nats === 'ok', checks: { nats } };
    const cluster = isReady() ? 'ok' : 'waiting for a trainer to create the streams and buckets';
    return { ok: nats === 'ok' && cluster === 'ok', checks: { nats, cluster } };
  };
}
