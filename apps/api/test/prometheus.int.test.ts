import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { JobRecord, JobState } from '@mnist/protocol';
import { fillVariables, formatField, INFRA_DIR, loadDashboards } from '../src/testing/grafana-dashboards.js';
import { launchChromium } from './chromium.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { createPromClient, hasFiniteValue, type PromClient, type Series } from './prometheus-api.js';
import {
  prometheusMissing,
  rewriteShippedConfig,
  startPrometheus,
  type PrometheusServer,
} from './prometheus-server.js';

const TOKEN = 'prometheus-test-token-5c4b3a2d1e';
/** Long enough (seconds) for scrapes while it runs: some panels show running jobs only. */
const JOB = {
  model: 'mlp',
  epochs: 8,
  trainLimit: 4096,
  testLimit: 256,
  batchSize: 64,
  replicas: 1,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
};
/** Grafana's $__rate_interval for a 1 s scrape interval is 4 s; more absorbs a scrape lost on a busy machine. */
const RATE_INTERVAL = '10s';
const PROM_DIR = join(INFRA_DIR, 'prometheus');
const dashboards = loadDashboards();

// Only a machine without the server may skip; CI installs it (.ci/run), so there a missing binary fails.
const missing = prometheusMissing();
const inCi = !!process.env.CI && !['0', 'false'].includes(process.env.CI);
if (missing && inCi) throw new Error(`CI=${process.env.CI}: the Prometheus test must run, but ${missing}`);
if (missing) console.warn(`prometheus.int.test.ts skipped: ${missing}`);

const ALERTS = [...readFileSync(join(PROM_DIR, 'alerts.yml'), 'utf8').matchAll(/^\s+- alert: (\w+)$/gm)].map(
  (m) => m[1]!,
);

let cluster: TestCluster;
let browser: Browser;
let prom: PrometheusServer;
let api: PromClient;
let started: number;
const tmp = mkdtempSync(join(tmpdir(), 'prom-test-'));

const now = () => Date.now() / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${await scrapeHealth()}`);
    await sleep(250);
  }
}

async function submit(spec: object): Promise<JobRecord> {
  const res = await fetch(`${cluster.apis[0]!.url}/v1/jobs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(spec),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as JobRecord;
}

const final: JobState[] = ['succeeded', 'failed', 'cancelled'];
const finished = (id: string) =>
  until(
    `job ${id} to finish`,
    async () => {
      const r = (await (
        await fetch(`${cluster.apis[0]!.url}/v1/jobs/${id}`, { headers: { Authorization: `Bearer ${TOKEN}` } })
      ).json()) as JobRecord;
      return final.includes(r.state) ? r : undefined;
    },
    90_000,
  );

/**
 * For failure messages: whether scrapes succeed and how long they take (a loaded machine can make a
 * 1 s scrape time out).
 */
async function scrapeHealth(): Promise<string> {
  const q = async (e: string) => JSON.stringify((await api.query(e)).map((s) => [s.metric, s.values[0]?.[1]]));
  const up = await q('avg_over_time(up[5m])');
  const scrapes = await q('count_over_time(up[5m])');
  const slowest = await q('max_over_time(scrape_duration_seconds[5m])');
  return `up ratio ${up} over ${scrapes} scrapes, slowest scrape ${slowest} s; prometheus log:\n${prom.output()}`;
}

/** One instant or range evaluation of a dashboard target, as Grafana would send it. */
function evaluate(expr: string, instant: boolean): Promise<Series[]> {
  return instant ? api.query(expr) : api.queryRange(expr, Math.floor(started), Math.ceil(now()), 1);
}

describe.skipIf(missing !== undefined)(
  `a real Prometheus over the shipped config${missing ? ` [skipped: ${missing}]` : ''}`,
  () => {
    let job: JobRecord;

    beforeAll(async () => {
      cluster = await startTestCluster({ trainers: 1, env: { API_TOKEN: TOKEN } });
      const tokenFile = join(tmp, 'api_token');
      writeFileSync(tokenFile, TOKEN);
      const config = rewriteShippedConfig(readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8'), {
        target: new URL(cluster.apis[0]!.url).host,
        tokenFile,
        interval: '1s',
      });
      started = now();
      prom = await startPrometheus({ configDir: PROM_DIR, config });
      api = createPromClient(prom.url);
      browser = await launchChromium();
      // Scraped with the token: the API target is up before any job runs.
      await until(
        'the API target to be up',
        async () => ((await api.query('up == 1')).length ? true : undefined),
        30_000,
      );

      job = await submit(JOB);
      // A scrape while it runs, for the panels of running jobs (ranks per running job).
      await until(
        'a scrape of the running job',
        async () => ((await api.query(`mnist_job_ranks{job_id="${job.id}"}`)).length ? true : undefined),
        30_000,
      );
      const done = await finished(job.id);
      expect(done.state, done.message).toBe('succeeded');
      // A scrape after the end: the final state and last epoch are in Prometheus.
      await until(
        'a scrape of the finished job',
        async () => ((await api.query('mnist_jobs{state="succeeded"} >= 1')).length ? true : undefined),
        30_000,
      );
      // The job lasts only a few scrapes: wait, as a Grafana user would, until the rate window
      // holds enough samples for rate() (two at least).
      await until(
        'steady scrapes',
        async () => ((await api.query(`count_over_time(up[${RATE_INTERVAL}]) >= 4`)).length ? true : undefined),
        30_000,
      );
    });

    afterAll(async () => {
      await browser?.close();
      await prom?.stop();
      await cluster?.stop();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('every dashboard variable lists the job, and every panel returns its series', async () => {
      expect(dashboards.length).toBeGreaterThan(0);
      const problems: string[] = [];
      for (const d of dashboards) {
        const values: Record<string, string> = { __rate_interval: RATE_INTERVAL };
        for (const v of d.variables) {
          const listed = await api.labelValues(v.label, v.metric, Math.floor(started), Math.ceil(now()));
          if (!listed.includes(job.id))
            problems.push(
              `${d.file}: variable $${v.name} = label_values(${v.metric}, ${v.label}) ` +
                `lists ${JSON.stringify(listed)}, not job ${job.id}`,
            );
          values[v.name] = job.id;
        }
        for (const p of d.panels) {
          let returned = false;
          for (const t of p.targets) {
            const series = await evaluate(fillVariables(t.expr, values), t.instant ?? false);
            returned ||= hasFiniteValue(series);
            // A target filtered by a job variable returns that job's series, labelled with it.
            for (const v of d.variables.filter((x) => t.expr.includes(`$${x.name}`))) {
              const strays = series.filter((s) => s.metric[v.label] !== job.id);
              if (strays.length)
                problems.push(
                  `${d.file}: "${p.title}" ${t.refId}: series without ${v.label}="${job.id}": ` +
                    JSON.stringify(strays.map((s) => s.metric)),
                );
            }
          }
          if (!returned)
            problems.push(
              `${d.file}: panel "${p.title}" returned no series (${p.targets.map((t) => t.expr).join(' | ')})`,
            );
        }
      }
      expect(problems, await scrapeHealth()).toEqual([]);
    });

    it('the shipped config loads the alert rules', async () => {
      expect(ALERTS).toHaveLength(5);
      expect((await api.alertNames()).sort()).toEqual([...ALERTS].sort());
    });

    it('the API page (GET /) and the Grafana table show the same numbers for the job', async () => {
      const d = dashboards.find((x) => x.file === 'mnist-fleet.json')!;
      const panel = d.panels.find((p) => p.title.includes('as on the API page'))!;
      const rename = panel.transformations!.find((t) => t.id === 'organize')!.options.renameByName as Record<
        string,
        string
      >;
      const v = d.variables[0]!;
      const grafana: Record<string, string> = {};
      for (const t of panel.targets) {
        const series = await api.query(fillVariables(t.expr, { [v.name]: job.id }));
        expect(
          series.map((s) => s.metric[v.label]),
          t.expr,
        ).toEqual([job.id]);
        const field = rename[`Value #${t.refId}`]!;
        grafana[field] = formatField(panel, field, Number(series[0]!.values[0]![1]));
      }

      const page = await browser.newPage();
      await page.goto(`${cluster.apis[0]!.url}/#job=${job.id}`);
      await page.fill('#token', TOKEN);
      await page.click('#auth button[type=submit]');
      const rows = page.locator('#epochs tbody tr');
      await rows.nth(JOB.epochs - 1).waitFor({ timeout: 30_000 });
      const headers = await page.locator('#epochs thead th').allInnerTexts();
      const cells = await rows.last().locator('td').allInnerTexts();
      const shown = Object.fromEntries(headers.map((h, i) => [h, cells[i]!]));
      // Every column of the page's last epoch, and nothing else, as Grafana formats it.
      expect(grafana).toEqual(shown);
      expect(grafana).toMatchObject({ Epoch: String(JOB.epochs) });
      expect(await page.locator(`#jobs tbody tr[data-id="${job.id}"] td.epoch`).innerText()).toBe(
        `${grafana.Epoch}/${JOB.epochs}`,
      );
      await page.close();
    });

    it('a job that fails fires MnistJobFailed, for that job only', async () => {
      // A persistent S3 failure, as in production: the trainer's retries (S3_RETRY_MS) run out and the job fails.
      await cluster.s3.stop();
      const bad = await submit(JOB);
      const done = await finished(bad.id);
      expect(done.state).toBe('failed');
      expect(done.message).toMatch(/StorageError/);
      const firing = await until(
        'MnistJobFailed to fire',
        async () => {
          const s = await api.query('ALERTS{alertname="MnistJobFailed",alertstate="firing"}');
          return s.some((x) => x.metric.job_id === bad.id) ? s : undefined;
        },
        30_000,
      );
      expect(firing.map((s) => s.metric)).toEqual([
        {
          __name__: 'ALERTS',
          alertname: 'MnistJobFailed',
          alertstate: 'firing',
          severity: 'warning',
          job_id: bad.id,
          model: 'mlp',
        },
      ]);
    });
  },
);
