import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mnist/core';
import { parseClusterEnv } from './index.js';

describe('parseClusterEnv', () => {
  it('fills the defaults from an empty environment', () => {
    expect(parseClusterEnv({})).toEqual({
      natsServers: ['nats://127.0.0.1:4222'],
      natsReplicas: 1,
      s3: { bucket: 'mnist', region: 'us-east-1', forcePathStyle: false },
    });
  });

  it('reads every variable; path style follows a custom endpoint unless set', () => {
    const cfg = parseClusterEnv({
      NATS_URL: 'nats://a:4222, nats://b:4222',
      NATS_REPLICAS: '3',
      S3_ENDPOINT: 'http://minio:9000',
      S3_BUCKET: 'runs',
      S3_REGION: 'eu-west-1',
      S3_FORCE_PATH_STYLE: '',
    });
    expect(cfg).toEqual({
      natsServers: ['nats://a:4222', 'nats://b:4222'],
      natsReplicas: 3,
      s3: { bucket: 'runs', region: 'eu-west-1', endpoint: 'http://minio:9000', forcePathStyle: true },
    });
    expect(parseClusterEnv({ S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'false' }).s3.forcePathStyle).toBe(
      false,
    );
    expect(parseClusterEnv({ S3_FORCE_PATH_STYLE: 'TRUE' }).s3.forcePathStyle).toBe(true);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      parseClusterEnv({
        NATS_URL: 'http://x',
        S3_ENDPOINT: 'minio',
        S3_BUCKET: 'Bad_Bucket',
        S3_FORCE_PATH_STYLE: 'maybe',
        NATS_REPLICAS: '0',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.variable).sort()).toEqual([
      'NATS_REPLICAS',
      'NATS_URL',
      'S3_BUCKET',
      'S3_ENDPOINT',
      'S3_FORCE_PATH_STYLE',
    ]);
    expect((error as Error).message).toMatch(/NATS_URL: must be nats:\/\/host:port/);
  });
});
