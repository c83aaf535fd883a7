import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { freePort, startNatsServer } from '@mnist/testing';
import { assertPortFree, probeNats } from './start-checks.js';

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

const listen = (port: number, onConnect?: (s: import('node:net').Socket) => void) =>
  new Promise<void>((resolve) => {
    const srv = createServer(onConnect);
    servers.push(srv);
    srv.listen(port, '127.0.0.1', resolve);
  });

describe('dev cluster start checks', () => {
  it('refuses a taken port in one line, and passes a free one', async () => {
    const port = await freePort();
    await expect(assertPortFree(port)).resolves.toBeUndefined();
    await listen(port);
    await expect(assertPortFree(port)).rejects.toThrow(
      `port ${port} is taken (another cluster or program listens there): stop it, or choose another with --port`,
    );
  });

  it('names an unreachable NATS_URL at once, a silent one after the timeout, and accepts a nats-server', async () => {
    const down = await freePort();
    const started = Date.now();
    await expect(probeNats(`nats://127.0.0.1:${down}`)).rejects.toThrow(
      `NATS_URL=nats://127.0.0.1:${down} does not answer (ECONNREFUSED): start that server, or unset NATS_URL`,
    );
    const silent = await freePort();
    await listen(silent);
    await expect(probeNats(`nats://127.0.0.1:${silent}`, 300)).rejects.toThrow('does not answer within 0.3 s');
    const http = await freePort();
    await listen(http, (s) => s.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await expect(probeNats(`127.0.0.1:${http}`)).rejects.toThrow('answers, but not as a nats-server');
    expect(Date.now() - started).toBeLessThan(3_000);
    const nats = await startNatsServer();
    try {
      await expect(probeNats(nats.url)).resolves.toBeUndefined();
    } finally {
      await nats.stop();
    }
  });
});
