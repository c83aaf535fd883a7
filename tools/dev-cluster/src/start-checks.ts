import { connect, createServer } from 'node:net';

/** A reason the dev cluster will not start, said in one line (no stack). */
export class ClusterStartError extends Error {
  override readonly name = 'ClusterStartError';
}

/** Refuses a port that something already listens on (another cluster, most likely), before anything is started. */
export function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new ClusterStartError(
              `port ${port} is taken (another cluster or program listens there): ` +
                'stop it, or choose another with --port',
            )
          : err,
      ),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

/**
 * Checks that NATS_URL answers like a nats-server (its first line is `INFO {...}`), within
 * `timeoutMs`, so a stale URL is named at once instead of trainers waiting minutes for it.
 */
export function probeNats(url: string, timeoutMs = 3_000): Promise<void> {
  const first = url.split(',')[0]!.trim();
  const u = new URL(/^\w+:\/\//.test(first) ? first : `nats://${first}`);
  const port = Number(u.port || 4222);
  const fail = (why: string) =>
    new ClusterStartError(`NATS_URL=${url} ${why}: start that server, or unset NATS_URL to run one here`);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.hostname, port });
    const timer = setTimeout(
      () => (sock.destroy(), reject(fail(`does not answer within ${timeoutMs / 1000} s`))),
      timeoutMs,
    );
    const done = (err?: Error) => (clearTimeout(timer), sock.destroy(), err ? reject(err) : resolve());
    sock.once('data', (d: Buffer) =>
      done(d.toString().startsWith('INFO ') ? undefined : fail('answers, but not as a nats-server')),
    );
    sock.once('error', (err: NodeJS.ErrnoException) => done(fail(`does not answer (${err.code ?? err.message})`)));
  });
}
