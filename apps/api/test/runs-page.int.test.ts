import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { JobRecord } from '@mnist/protocol';
import { launchChromium } from './chromium.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { computed, pageSession } from './page-session.js';
import { newestFirst } from '../src/routes/job-cursor.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(HERE, '..', 'test-artifacts');
const DOCS = join(HERE, '..', '..', '..', 'docs');
const TOKEN = 'runs-page-test-token-5c4b3a29f8';
/** Two short runs that end with metrics and artifacts, differing in lr. */
const DONE = { model: 'mlp', epochs: 3, trainLimit: 512, testLimit: 256, batchSize: 32, replicas: 1 };
/** Still running while the page is looked at (cancelled at the end): progress, per-step loss, live state. */
const LIVE = {
  model: 'mlp',
  epochs: 40,
  trainLimit: 2048,
  testLimit: 256,
  batchSize: 32,
  replicas: 1,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
};
/** Needs more trainers than the cluster has: parked, costs nothing, makes the list long. */
const PARKED = { model: 'lenet5', epochs: 1, trainLimit: 256, testLimit: 128, replicas: 8 };
const VIEW = { width: 1400, height: 900 };

let cluster: TestCluster;
let browser: Browser;
const s = pageSession(
  () => cluster,
  () => browser,
  TOKEN,
);
let parked: JobRecord[] = [];
let done: JobRecord[] = [];
let live: JobRecord;

beforeAll(async () => {
  cluster = await startTestCluster({ trainers: 2, env: { API_TOKEN: TOKEN } });
  browser = await launchChromium();
  // Oldest first: 42 parked runs, then the two short ones (one per trainer), then the live one.
  parked = await Promise.all(Array.from({ length: 42 }, (_, i) => s.submit({ ...PARKED, seed: i + 1 })));
  // Submitted at once, several share a millisecond: expect the API's order (time, then id), oldest first.
  parked.sort((a, b) => newestFirst(b, a));
  for (const [lr, level] of [
    [0.1, 'high'],
    [0.01, 'low'],
  ] as const) {
    const named = { name: `mlp lr ${lr}`, tags: { team: 'vision', lr: level }, note: 'runs page test' };
    done.push(await s.submit({ ...DONE, ...named, optimizer: { type: 'sgd', lr } }));
  }
  await Promise.all(done.map((j) => s.waitForState(j.id, 'succeeded', 90_000)));
  live = await s.submit(LIVE);
});
afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** The page's own box for a selector, in CSS px of the viewport. */
const box = async (page: Page, sel: string) => (await page.locator(sel).boundingBox())!;
/** Runs in the page: how far an element's content is wider than its box (0 = nothing cut off). */
const overflowX = (page: Page, sel: string) =>
  page.locator(sel).evaluate((e) => {
    const el = e as unknown as { scrollWidth: number; clientWidth: number };
    return el.scrollWidth - el.clientWidth;
  });
const PERCENT = expect.stringMatching(/^\d+\.\d\d%$/);
/** test-artifacts/<name>, also to docs/ with UPDATE_DOCS_SCREENSHOT=1 (the README shows them). */
const keepScreenshot = (name: string) => {
  if (process.env.UPDATE_DOCS_SCREENSHOT) copyFileSync(join(ARTIFACTS, name), join(DOCS, name));
};
/** Runs in the page: the `data-<name>` of each element. */
const dataOf = (page: Page, sel: string, name: string) =>
  page
    .locator(sel)
    .evaluateAll((es, n) => es.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset[n]), name);
const rowIds = (page: Page) => dataOf(page, '#jobs tbody tr', 'id');

describe('the runs page in headless Chromium', () => {
  it('at 1,400 px: a paged table with every column, the selected run in view, compare by ticking runs', async () => {
    const page = await s.openPage(VIEW.width, VIEW.height);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

    // Page 1: the newest ten, the live run first and selected by itself; no column cut off.
    await page.locator(`#jobs tbody tr[data-id="${live.id}"].selected`).waitFor({ timeout: 30_000 });
    expect(await page.locator('#jobs thead th').allInnerTexts()).toEqual([
      '\u2713',
      'Name',
      'Tags',
      'State',
      'Model',
      'Epoch',
      'Best test acc',
      'Final test acc',
      'Duration',
      'Sweep',
      'Seed',
      'LR',
      'Created',
    ]);
    const newestParked = parked
      .slice(-7)
      .map((j) => j.id)
      .reverse();
    expect(await rowIds(page)).toEqual([live.id, done[1]!.id, done[0]!.id, ...newestParked]);
    expect(await page.locator('#page-info').innerText()).toBe('runs 1\u201310');
    expect(await overflowX(page, '.table-wrap')).toBe(0);

    // The live run's panel: progress, per-step loss from its progress events, its curves, logs, all in view.
    await page.locator('#progress .text', { hasText: /^epoch \d+, step \d+\/\d+/ }).waitFor({ timeout: 60_000 });
    await page.locator('#step-chart polyline.step').waitFor({ timeout: 30_000 });
    await page.locator('#loss-chart circle.test[data-epoch="1"]').waitFor({ timeout: 60_000 });
    expect(Number(await page.locator('#step-chart').getAttribute('data-points'))).toBeGreaterThan(1);
    for (const sel of ['#job-panel .run-head', '#progress', '#loss-chart', '#acc-chart', '#step-chart', '#logs']) {
      const b = await box(page, sel);
      expect(b.y, sel).toBeGreaterThanOrEqual(0);
      expect(b.y + b.height, `${sel} ends within the 900 px viewport`).toBeLessThanOrEqual(VIEW.height);
    }
    // Its trainer's log lines, each with time, rank, attempt and trainer.
    await page.locator('#logs div').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('#logs div').first().innerText()).toMatch(/^\d\d:\d\d:\d\d r0 a\d+ t\d \S/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'runs-page-live.png') });

    // A finished run: name, tags, accuracies (from its metrics if the list has none), duration, seed and lr.
    const a = page.locator(`#jobs tbody tr[data-id="${done[0]!.id}"]`);
    await a.locator('td.final', { hasText: /^\d+\.\d\d%$/ }).waitFor({ timeout: 15_000 });
    expect(await a.locator('td').allInnerTexts()).toEqual([
      '',
      'mlp lr 0.1',
      'lr=high team=vision',
      'succeeded',
      'mlp',
      '3/3',
      PERCENT,
      PERCENT,
      expect.stringMatching(/^\d+(m \d\d)?s$/),
      '',
      '1',
      '0.1',
      expect.stringMatching(/ago$/),
    ]);

    // Select one: its artifacts are links through the artifact routes; with a token a click saves the file.
    await a.click();
    await page.locator('#job-state', { hasText: 'succeeded' }).waitFor();
    await page.locator('#artifacts a[data-key="report.md"]').waitFor({ timeout: 15_000 });
    expect((await dataOf(page, '#artifacts > a', 'key')).slice(0, 2)).toEqual(['report.md', 'curves.png']);
    expect(await page.locator('#artifacts summary').innerText()).toBe('checkpoints (3)');
    const saved = page.waitForEvent('download');
    await page.locator('#artifacts a[data-key="report.md"]').click();
    const download = await saved;
    expect(download.suggestedFilename()).toBe('report.md');
    expect(readFileSync((await download.path())!, 'utf8')).toMatch(/^#/);
    expect(await page.locator('#progress').isVisible()).toBe(false);
    expect(await page.locator('#job-name').innerText()).toBe('mlp lr 0.1');
    expect(await page.locator('#job-summary').innerText()).toContain('tags lr=high team=vision \u00b7 runs page test');
    await page.locator('#logs div').first().waitFor({ timeout: 15_000 });

    // Compare: tick both finished runs; their test curves overlay on one chart, one colour each, with a legend.
    await a.locator('td.cmp input').check();
    await page.locator(`#jobs tbody tr[data-id="${done[1]!.id}"] td.cmp input`).check();
    await page.locator('#loss-chart polyline.run').nth(1).waitFor({ timeout: 15_000 });
    expect(await page.locator('#loss-title').innerText()).toBe('Test loss, 2 runs');
    // Both charts are drawn in one redraw, but read the strokes in one evaluation: a redraw between two reads
    // (a live run's event) must not mix two drawings.
    await page.locator('#acc-chart polyline.run').nth(1).waitFor({ timeout: 15_000 });
    const strokes = await page
      .locator('#acc-chart polyline.run')
      .evaluateAll((es) =>
        es.map(
          (e) =>
            (globalThis as unknown as { getComputedStyle(e: unknown): { stroke: string } }).getComputedStyle(e).stroke,
        ),
      );
    expect(strokes).toHaveLength(2);
    expect(new Set(strokes).size).toBe(2);
    expect(await page.locator('#acc-chart circle.run[data-epoch="3"]').count()).toBe(2);
    expect(await page.locator('#compare-legend .run').allInnerTexts()).toEqual([
      expect.stringMatching(/^mlp lr 0\.1 \(best \d+\.\d\d%\)$/),
      expect.stringMatching(/^mlp lr 0\.01 \(best /),
    ]);
    const swatch = page.locator('#compare-legend .run i').first();
    expect(await swatch.evaluate(computed, 'border-top-color')).toBe(strokes[0]);
    for (const sel of ['#compare-legend', '#loss-chart', '#acc-chart']) {
      const b = await box(page, sel);
      expect(b.y + b.height, `${sel} ends within the viewport`).toBeLessThanOrEqual(VIEW.height);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'runs-page-1400.png') });
    keepScreenshot('runs-page-1400.png');

    // Paging through 45 runs: pages of ten, the selected run's panel stays where it was.
    const panelTop = (await box(page, '#job-panel')).y;
    await page.click('#page-next');
    await page.locator('#page-info', { hasText: 'runs 11\u201320' }).waitFor();
    expect(await rowIds(page)).toEqual(
      parked
        .slice(-17, -7)
        .map((j) => j.id)
        .reverse(),
    );
    for (let i = 0; i < 3; i++) await page.click('#page-next');
    await page.locator('#page-info', { hasText: 'runs 41\u201345' }).waitFor();
    expect(await page.locator('#page-next').isDisabled()).toBe(true);
    expect((await box(page, '#job-panel')).y).toBeLessThanOrEqual(panelTop);
    expect(await page.locator('#job-id').innerText()).toBe(done[0]!.id);
    await page.click('#page-prev');
    await page.locator('#page-info', { hasText: 'runs 31\u201340' }).waitFor();

    // Filters: the live run alone by state, a tag.
    // Polled: the rows before a filter's answer arrives may already hold the run looked for.
    await page.selectOption('#f-state', 'running');
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([live.id]);
    await page.selectOption('#f-state', '');
    await page.locator('#page-info', { hasText: 'runs 1\u201310' }).waitFor();
    await page.fill('#f-tag', 'lr=low');
    await page.press('#f-tag', 'Enter');
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([done[1]!.id]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('at a phone width (390 px): no sideways scroll; name, state, epoch, best accuracy; the run below', async () => {
    const page = await s.openPage(390, 844, `#job=${done[0]!.id}`);
    await page.locator('#acc-chart circle.test[data-epoch="3"]').waitFor({ timeout: 30_000 });
    const best = page.locator(`#jobs tbody tr[data-id="${done[0]!.id}"] td.best`, { hasText: /%$/ });
    await best.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'runs-page-phone.png'), fullPage: true });
    keepScreenshot('runs-page-phone.png');
    expect(await overflowX(page, 'html')).toBe(0);
    expect(await overflowX(page, '.table-wrap')).toBe(0);
    const columns = await page.locator('#jobs thead th:visible').allInnerTexts();
    expect(columns).toEqual(['\u2713', 'Name', 'State', 'Epoch', 'Best test acc']);
    const charts = await Promise.all(['#loss-chart', '#acc-chart', '#step-chart'].map((sel) => box(page, sel)));
    for (const c of charts) expect(c.width).toBeGreaterThan(300);
    expect(charts[1]!.y).toBeGreaterThan(charts[0]!.y + charts[0]!.height); // stacked, one per row
    await s.cancel(live.id);
    await page.close();
  });
});
