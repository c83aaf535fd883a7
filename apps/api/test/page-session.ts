import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { JobRecord } from '@mnist/protocol';
import type { TestCluster } from './harness.js';

/** Runs in the page (no DOM types here): an element's computed style property. */
export const computed = (el: unknown, prop: string) =>
  (globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }).getComputedStyle(el)[prop];

/** What the page tests do against a test cluster: submit jobs, wait for a state, open the page with the token in. */
export function pageSession(cluster: () => TestCluster, browser: () => Browser, token: string) {
  const auth = { Authorization: `Bearer ${token}` };
  const base = () => cluster().apis[0]!.url;
  return {
    auth,
    base,
    async submit(spec: object): Promise<JobRecord> {
      const res = await fetch(`${base()}/v1/jobs`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify(spec),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as JobRecord;
    },
    async waitForState(id: string, state: string, timeoutMs = 60_000): Promise<void> {
      for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 300))) {
        const job = (await (await fetch(`${base()}/v1/jobs/${id}`, { headers: auth })).json()) as JobRecord;
        if (job.state === state) return;
      }
      throw new Error(`job ${id} not ${state} within ${timeoutMs} ms`);
    },
    cancel: (id: string) => fetch(`${base()}/v1/jobs/${id}/cancel`, { method: 'POST', headers: auth }),
    /** A page `width` x `height` px, opened on `hash` (e.g. `#job=<id>`), with the token entered. */
    async openPage(width: number, height: number, hash = ''): Promise<Page> {
      const page = await browser().newPage({ viewport: { width, height } });
      await page.goto(`${base()}/${hash}`);
      await page.fill('#token', token);
      await page.click('#auth button[type=submit]');
      return page;
    },
  };
}
