import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mnist/cluster';
import { parseApiEnv } from './env.js';

describe('parseApiEnv', () => {
  it('fills defaults', () => {
    const c = parseApiEnv({});
    expect(c).toMatchObject({ port: 8787, host: '0.0.0.0', publicRead: false, bodyLimitBytes: 65_536, sseKeepAliveMs: 15_000, logLevel: 'info' });
    expect(c.token).toBeUndefined();
    expect(c.cluster.natsServers).toEqual(['nats://127.0.0.1:4222']);
  });

  it('reads the API variables', () => {
    const c = parseApiEnv({ PORT: '9000', API_TOKEN: 'a'.repeat(32), API_PUBLIC_READ: 'yes', S3_ENDPOINT: 'http://127.0.0.1:9999', TRAINER_TTL_MS: '3000' });
    expect(c).toMatchObject({ port: 9000, token: 'a'.repeat(32), publicRead: true, trainerTtlMs: 3000 });
    expect(c.cluster.s3).toMatchObject({ endpoint: 'http://127.0.0.1:9999', forcePathStyle: true });
    expect(parseApiEnv({ API_TOKEN: '' }).token).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    try {
      parseApiEnv({ PORT: 'eighty', API_TOKEN: 'short', API_PUBLIC_READ: 'maybe' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual(['API_PUBLIC_READ', 'API_TOKEN', 'PORT']);
    }
  });
});
