import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mnist/core';
import { parseApiEnv } from './env.js';

describe('parseApiEnv', () => {
  it('fills defaults', () => {
    const c = parseApiEnv({});
    expect(c).toMatchObject({
      port: 8787,
      host: '0.0.0.0',
      publicRead: false,
      bodyLimitBytes: 65_536,
      sseKeepAliveMs: 15_000,
      logLevel: 'info',
    });
    expect(c.token).toBeUndefined();
    expect(c.cluster.natsServers).toEqual(['nats://127.0.0.1:4222']);
  });

  it('reads the API variables', () => {
    const c = parseApiEnv({
      PORT: '9000',
      API_TOKEN: 'a'.repeat(32),
      API_PUBLIC_READ: 'yes',
      S3_ENDPOINT: 'http://127.0.0.1:9999',
    });
    expect(c).toMatchObject({ port: 9000, token: 'a'.repeat(32), publicRead: true });
    expect(c.cluster.s3).toMatchObject({ endpoint: 'http://127.0.0.1:9999', forcePathStyle: true });
    expect(parseApiEnv({ API_TOKEN: '' }).token).toBeUndefined();
  });

  it('reads admission and reconciler settings, with defaults', () => {
    expect(parseApiEnv({})).toMatchObject({
      maxReplicas: 64,
      maxQueued: 1000,
      reconcile: { intervalMs: 5000, orphanGraceMs: 15_000, maxWaitMs: 86_400_000, retentionMs: 604_800_000 },
    });
    const c = parseApiEnv({
      MAX_REPLICAS: '8',
      MAX_QUEUED: '50',
      JOB_MAX_WAIT_MS: '0',
      JOB_RETENTION_MS: '3600000',
      RECONCILE_INTERVAL_MS: '1000',
      ORPHAN_GRACE_MS: '2000',
    });
    expect(c).toMatchObject({
      maxReplicas: 8,
      maxQueued: 50,
      reconcile: { intervalMs: 1000, orphanGraceMs: 2000, maxWaitMs: 0, retentionMs: 3_600_000 },
    });
    const bad = (() => {
      try {
        parseApiEnv({ MAX_REPLICAS: '65', MAX_QUEUED: '0', RECONCILE_INTERVAL_MS: 'soon' });
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(bad?.issues.map((i) => i.variable).sort()).toEqual(['MAX_QUEUED', 'MAX_REPLICAS', 'RECONCILE_INTERVAL_MS']);
  });

  it('names every bad variable at once', () => {
    try {
      parseApiEnv({ PORT: 'eighty', API_TOKEN: 'short', API_PUBLIC_READ: 'maybe' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual([
        'API_PUBLIC_READ',
        'API_TOKEN',
        'PORT',
      ]);
    }
  });
});
