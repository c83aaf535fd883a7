import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { startNatsServer, startS3Server } from './index.js';

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('test servers', () => {
  it('nats-server starts, restarts on the same port and stops', async () => {
    const nats = await startNatsServer();
    expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(await accepts(nats.port)).toBe(true);
    await nats.restart(50);
    expect(await accepts(nats.port)).toBe(true);
    await nats.stop();
    expect(await accepts(nats.port)).toBe(false);
  });

  it('a missing nats-server binary fails with an install hint', async () => {
    await expect(startNatsServer({ bin: 'no-such-nats-server' })).rejects.toThrow(/Install nats-server/);
  });

  it('s3rver listens on a free port', async () => {
    await using s3 = await startS3Server();
    expect(await accepts(s3.port)).toBe(true);
    expect(s3.env.S3_ENDPOINT).toBe(s3.endpoint);
  });
});
