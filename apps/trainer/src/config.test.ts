import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mnist/core';
import { advertisedHost, defaultTrainerId, parseTrainerEnv } from './config.js';

describe('parseTrainerEnv', () => {
  it('has defaults for everything', () => {
    const c = parseTrainerEnv({});
    expect(c).toMatchObject({
      backend: 'auto',
      heartbeatMs: 2_000,
      taskAckWaitMs: 30_000,
      maxAttempts: 5,
      drainGraceMs: 0,
    });
    expect(c.cluster.natsServers).toEqual(['nats://127.0.0.1:4222']);
    expect(c.trainerId).toMatch(/^[A-Za-z0-9_-]+-\d+$/);
  });

  it('reads overrides and rejects bad values by name', () => {
    expect(
      parseTrainerEnv({ MNIST_BACKEND: 'wasm', TASK_ACK_WAIT_MS: '4000', TRAINER_ID: 'gpu-1', MNIST_DIR: '/data' }),
    ).toMatchObject({
      backend: 'wasm',
      taskAckWaitMs: 4_000,
      trainerId: 'gpu-1',
      datasetDir: '/data',
    });
    let err: unknown;
    try {
      parseTrainerEnv({ MNIST_BACKEND: 'cuda', HEARTBEAT_MS: 'soon', TRAINER_ID: 'a.b' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual([
      'HEARTBEAT_MS',
      'MNIST_BACKEND',
      'TRAINER_ID',
    ]);
  });

  it('reads the data plane: a port, a range or any free port; the advertised address defaults to the host name', () => {
    expect(parseTrainerEnv({}).data).toMatchObject({ bind: '0.0.0.0', ports: [0, 0], meshTimeoutMs: 5_000 });
    expect(parseTrainerEnv({ DATA_PORT: '7100-7109', DATA_ADVERTISE: '10.0.0.5' }).data).toMatchObject({
      ports: [7100, 7109],
      advertise: '10.0.0.5',
    });
    expect(parseTrainerEnv({ DATA_TLS_CERT: '/c.pem', DATA_TLS_KEY: '/k.pem' }).data.tls).toEqual({
      cert: '/c.pem',
      key: '/k.pem',
    });
    for (const DATA_PORT of ['71OO', '7200-7100', '70000'])
      expect(() => parseTrainerEnv({ DATA_PORT })).toThrow(/DATA_PORT/);
  });

  it('advertises the first non-loopback IPv4 address with DATA_ADVERTISE=ip, or says there is none', () => {
    const lo = {
      address: '127.0.0.1',
      netmask: '255.0.0.0',
      family: 'IPv4',
      mac: '',
      internal: true,
      cidr: null,
    } as const;
    const eth = { ...lo, address: '172.18.0.5', internal: false };
    expect(
      advertisedHost('ip', { lo: [lo], eth0: [{ ...eth, family: 'IPv6', address: 'fe80::1', scopeid: 0 }, eth] }),
    ).toBe('172.18.0.5');
    expect(advertisedHost('trainer-1.internal', {})).toBe('trainer-1.internal');
    expect(() => advertisedHost('ip', { lo: [lo] })).toThrow(/DATA_ADVERTISE/);
  });

  it('makes subject-safe default ids from any host name', () => {
    expect(defaultTrainerId('gpu.node-3.example.com', 42)).toBe('gpu-node-3-example-com-42');
  });
});
