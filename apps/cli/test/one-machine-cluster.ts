import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mnist/testing';
import { REPO_ROOT } from './run-mnist.js';

const CLUSTER_MAIN = join(REPO_ROOT, 'tools', 'dev-cluster', 'src', 'cluster-main.ts');

export interface OneMachineCluster {
  /** API_URL and API_TOKEN for the `mnist` command. */
  env: Record<string, string>;
  /** Everything the cluster printed so far (for failure messages). */
  log(): string;
  /** Its state folder (--data): start another cluster on it to see what survived. */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * `npm run cluster -- --trainers N --data DIR`: nats-server, s3rver, the API (with a token) and N
 * trainers, until stop(). DIR is a fresh temporary folder unless `dataDir` names one.
 */
export async function startCluster(o: {
  trainers: number;
  token: string;
  dataDir?: string;
  port?: number;
}): Promise<OneMachineCluster> {
  const port = o.port ?? (await freePort());
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'dev-cluster-'));
  const args = [
    '--import',
    'tsx',
    CLUSTER_MAIN,
    '--trainers',
    String(o.trainers),
    '--port',
    String(port),
    '--data',
    dataDir,
  ];
  const cluster: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, API_TOKEN: o.token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster not up after 120 s:\n${log.slice(-3000)}`)), 120_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      // Up once the block of `export ...` lines after '--- cluster up' is complete.
      if (/--- cluster up[^]*\n---\n/.test(log)) (clearTimeout(timer), resolve());
    };
    cluster.stdout!.on('data', onData);
    cluster.stderr!.on('data', onData);
    cluster.once(
      'close',
      (code) => (clearTimeout(timer), reject(new Error(`cluster exited (${code}):\n${log.slice(-3000)}`))),
    );
  });
  const apiUrl = /^export API_URL=(\S+)$/m.exec(log)?.[1];
  if (!apiUrl) throw new Error(`the cluster started no API:\n${log.slice(-3000)}`);
  return {
    env: { API_URL: apiUrl, API_TOKEN: o.token },
    log: () => log,
    dataDir,
    stop: async () => {
      if (cluster.exitCode !== null) return;
      const exited = new Promise((r) => cluster.once('exit', r));
      cluster.kill('SIGTERM');
      await exited;
    },
  };
}
