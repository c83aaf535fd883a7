import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { JobRecord } from '@mnist/protocol';
import { launchChromium } from './chromium.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { computed, pageSession } from './page-session.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(HERE, '..', 'test-artifacts');
const TOKEN = 'dashboard-test-token-9d8e7f6a5b';
/** Many short epochs: still running long after the page has drawn its first points; cancelled at the end. */
const JOB = {
  model: 'mlp',
  epochs: 40,
  trainLimit: 2048,
  testLimit: 512,
  batchSize: 32,
  replicas: 2,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
};

let cluster: TestCluster;
let browser: Browser;
beforeAll(async () => {
  cluster = await startTestCluster({ trainers: 2, env: { API_TOKEN: TOKEN } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
});

const { auth, submit, waitForState, openPage } = pageSession(
  () => cluster,
  () => browser,
  TOKEN,
);

describe('the dashboard page in headless Chromium', () => {
  it("hides the progress bar for a finished job, and switching jobs drops the previous job's progress", async () => {
    const done = await submit({ model: 'mlp', epochs: 1, trainLimit: 256, testLimit: 128, replicas: 1 });
    await waitForState(done.id, 'succeeded');
    const running = await submit(JOB);

    // A finished job opened directly: its replayed progress events leave no bar behind.
    const page = await openPage(1400, 900, `#job=${done.id}`);
    await page.locator('#job-state', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    await page.locator('#loss-chart circle.test[data-epoch="1"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#progress').isVisible()).toBe(false);

    // The running job shows its progress; switching to the finished one hides it.
    await page.locator(`#jobs tbody tr[data-id="${running.id}"]`).click();
    await page.locator('#progress .text', { hasText: /^epoch \d+, step \d+\/\d+/ }).waitFor({ timeout: 60_000 });
    expect(await page.locator('#progress').isVisible()).toBe(true);
    await page.locator(`#jobs tbody tr[data-id="${done.id}"]`).click();
    await page.locator('#job-state', { hasText: 'succeeded' }).waitFor();
    expect(await page.locator('#progress').isVisible()).toBe(false);
    expect(await page.locator('#progress .text').textContent()).toBe('');

    await fetch(`${cluster.apis[0]!.url}/v1/jobs/${running.id}/cancel`, { method: 'POST', headers: auth });
    await page.close();
  });

  it('asks for the token, then lists the running job and the trainers and draws its live curves', async () => {
    const base = cluster.apis[0]!.url;
    const res = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(JOB),
    });
    const job = (await res.json()) as JobRecord;
    expect(res.status).toBe(201);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    // A 401 before the token, and a 404 from an API without the logs route (the log pane says so), are expected.
    page.on(
      'console',
      (m) => m.type() === 'error' && !/401|404/.test(m.text()) && problems.push(`console: ${m.text()}`),
    );
    page.on(
      'response',
      (r) => r.status() === 404 && !/\/v1\/jobs\/[\w-]+\/logs\?/.test(r.url()) && problems.push(`404: ${r.url()}`),
    );

    await page.goto(`${base}/`);
    await page.locator('#notice', { hasText: 'needs a token' }).waitFor({ timeout: 10_000 });
    await page.fill('#token', TOKEN);
    await page.click('#auth button[type=submit]');

    // The job list and the trainer list fill in; the running job is selected by itself.
    const row = page.locator(`#jobs tbody tr[data-id="${job.id}"]`);
    await row.locator('.state', { hasText: 'running' }).waitFor({ timeout: 60_000 });
    await page.locator('#trainers tbody tr').nth(1).waitFor();
    expect(await page.locator('#trainers tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(/^t1\s/),
      expect.stringMatching(/^t2\s/),
    ]);
    await page.locator('#job-state', { hasText: 'running' }).waitFor();
    expect(await page.locator('#job-id').innerText()).toBe(job.id);

    // After the first epoch: a train and a test point on both charts, and a row in the table.
    for (const chart of ['#loss-chart', '#acc-chart']) {
      for (const split of ['train', 'test'])
        await page.locator(`${chart} circle.${split}[data-epoch="1"]`).waitFor({ timeout: 60_000 });
    }
    expect(await page.locator('#epochs tbody tr').first().innerText()).toMatch(/^1\s+\d\.\d{4}\s+\d+\.\d\d%/);
    expect(await page.locator('#job-state').innerText()).toBe('running');

    // A few epochs more make a curve worth a picture; the job is still running then.
    await page.locator('#acc-chart circle.test[data-epoch="4"]').waitFor({ timeout: 60_000 });
    await page.locator('#progress:not([hidden])').waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(await page.locator('#job-state').innerText()).toBe('running');

    // Cancelling reaches the page through the same event stream.
    await fetch(`${base}/v1/jobs/${job.id}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    await page.locator('#job-state', { hasText: 'cancelled' }).waitFor({ timeout: 15_000 });

    expect(page.url()).not.toContain(TOKEN);
    expect(cluster.apis[0]!.output()).not.toContain(TOKEN);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows a sweep's progress: jobs ended of its total, and its counts by state", async () => {
    const base = cluster.apis[0]!.url;
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const res = await fetch(`${base}/v1/sweeps`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ models: ['mlp'], seeds: 2, base: { epochs: 3, trainLimit: 256, testLimit: 128 } }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${base}/`);
    await page.fill('#token', TOKEN);
    await page.click('#auth button[type=submit]');
    const row = page.locator('#sweeps tbody tr', { hasText: id });
    await row.locator('.state', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    expect(await row.innerText()).toMatch(/2\/2 ended\s+2 succeeded/);
    expect(await row.locator('.sweep-bar i').getAttribute('style')).toMatch(/width: 100(\.0)?%/);

    // Its curves: test accuracy per epoch as the mean over the two seeds, with a ± std band.
    await row.click();
    await page.locator('#sweep-chart polygon.band').waitFor({ timeout: 10_000 });
    expect(await page.locator('#sweep-chart polyline').getAttribute('data-series')).toBe(
      'mlp lr 0.01 batch 64 (2 seeds)',
    );
    expect(await page.locator('#sweep-legend').innerText()).toContain('mlp lr 0.01 batch 64 (2 seeds)');
    // Drawn in the configuration's colour (the page's CSP refuses style attributes, so this can fail).
    expect(await page.locator('#sweep-chart polyline').evaluate(computed, 'stroke')).toBe('rgb(31, 111, 180)');
    expect(await page.locator('#sweep-chart polygon.band').evaluate(computed, 'fill')).toBe('rgb(31, 111, 180)');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-sweep.png'), fullPage: true });

    // Its runs in the runs table, found by the sweep filter: the sweep and seed columns.
    await page.fill('#f-sweep', id);
    await page.press('#f-sweep', 'Enter');
    await page.locator('#page-info', { hasText: 'runs 1\u20132' }).waitFor();
    expect(await page.locator('#jobs tbody td.sweep').allInnerTexts()).toEqual([id, id]);
    expect(await page.locator('#jobs tbody td.seed').allInnerTexts()).toEqual(['2', '1']);
    await page.close();
  });
});
