import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mnist/testing';

/** Why the Prometheus server cannot run here, or undefined when it can. */
export function prometheusMissing(bin = 'prometheus'): string | undefined {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return `'${bin}' is not runnable (${r.error?.message ?? r.stderr.trim()}); install Debian's 'prometheus' package`;
  return undefined;
}

export interface ScrapeRewrite {
  /** host:port of the API. */
  target: string;
  /** File holding the API token. */
  tokenFile: string;
  /** Every scrape and evaluation interval, e.g. '1s'. */
  interval: string;
}

/**
 * The shipped prometheus.yml with only the API's address, the token file and the
 * intervals changed. Each rewrite must match, so a reshaped config breaks here loudly
 * instead of silently scraping nothing.
 */
export function rewriteShippedConfig(text: string, r: ScrapeRewrite): string {
  const swap = (out: string, pattern: RegExp, by: string, what: string) => {
    if (!pattern.test(out)) throw new Error(`prometheus.yml: no ${what} to rewrite (${pattern})`);
    return out.replace(pattern, by);
  };
  // Either quote: Prettier writes YAML strings with single quotes.
  let out = swap(text, /targets: \[(['"])api:8787\1\]/, `targets: ["${r.target}"]`, 'API target');
  out = swap(out, /credentials_file: \/run\/secrets\/api_token/, `credentials_file: ${r.tokenFile}`, 'token file');
  out = swap(out, /\b(scrape_interval|evaluation_interval): \d+[smh]\b/g, `$1: ${r.interval}`, 'interval');
  return out;
}

export interface PrometheusServer {
  url: string;
  /** Log output so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real `prometheus` server on a free loopback port over a copy of `configDir`
 * (the config's rule files resolve beside it) with prometheus.yml replaced by `config`.
 */
export async function startPrometheus(o: {
  configDir: string;
  config: string;
  bin?: string;
  timeoutMs?: number;
}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const conf = join(dir, 'conf');
  cpSync(o.configDir, conf, { recursive: true });
  writeFileSync(join(conf, 'prometheus.yml'), o.config);
  const port = await freePort();
  const child = spawn(
    o.bin ?? 'prometheus',
    [
      `--config.file=${join(conf, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  // 'close' (after the output is drained): a failed start's error carries the whole log.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited (${child.exitCode}) during start:\n${log}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, output: () => log, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within ${o.timeoutMs ?? 30_000} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
