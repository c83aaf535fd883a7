import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
// s3rver ships no types; its surface used here is tiny.
// @ts-expect-error untyped module
import S3rver from 's3rver';

/** s3rver accepts this fixed key pair (it checks signatures against it). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3ServerHandle extends AsyncDisposable {
  readonly endpoint: string;
  readonly port: number;
  /** The env a process needs to talk to this server (our public S3_* contract). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** Starts an S3-compatible server (s3rver, in this process) on a free port over a temporary folder. */
export async function startS3Server(
  opts: { port?: number; bucket?: string; host?: string; directory?: string } = {},
): Promise<S3ServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  // A given folder is kept on stop (a dev cluster's artifacts survive restarts); a temporary one is removed.
  const keep = opts.directory !== undefined;
  const directory = opts.directory ?? mkdtempSync(join(tmpdir(), 's3rver-'));
  if (keep) mkdirSync(directory, { recursive: true });
  const server = new S3rver({ address: host, port: opts.port ?? 0, silent: true, directory }) as S3rverInstance;
  const { port } = await server.run();
  const endpoint = `http://${host}:${port}`;
  const handle: S3ServerHandle = {
    endpoint,
    port,
    env: {
      S3_ENDPOINT: endpoint,
      S3_BUCKET: opts.bucket ?? 'mnist',
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: '1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    stop: async () => {
      await server.close().catch(() => undefined);
      if (!keep) rmSync(directory, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => handle.stop(),
  };
  return handle;
}
