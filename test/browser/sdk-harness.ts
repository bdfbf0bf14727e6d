import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Client } from '../../sdk/browser/src/client.js';
import type { Report } from '../../sdk/browser/src/types.js';
import { eventually, testPool } from '../helpers.js';
import { startApp } from '../in-process-app.js';
import { buildSdk } from './build-sdk.js';
import { launchChromium } from './chromium.js';
import { startSdkSite } from './sdk-site.js';

declare global {
  interface Window {
    client: Client;
    reports: Report[];
  }
}

/**
 * The SDK built from source and loaded by a real Chromium from a page origin, sending to a real
 * API (in this process, on the test stack's NATS, Temporal and PostgreSQL, whose worker stores
 * the events) configured as production would be: a write key, and CORS for the page origin only.
 */
export async function startBrowserHarness() {
  const writeKey = `pk_test_${randomUUID().replaceAll('-', '')}`;
  const site = await startSdkSite({ sdkCode: await buildSdk(), writeKey });
  const api = await startApp({ WRITE_KEYS: `sdk_test:${writeKey}`, CORS_ORIGINS: site.origin });
  site.connect(await api.app.listen({ host: '127.0.0.1', port: 0 }));
  const browser = await launchChromium();
  const pool = testPool();

  /** A tab on the test page; `name` keeps each test's queue apart in the shared profile. */
  async function open(params: Record<string, string | number>): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(site.pageUrl(params));
    await page.waitForFunction(() => window.client !== undefined);
    return page;
  }

  const track = (page: Page, type: string, count: number, from = 0) =>
    page.evaluate(({ type, count, from }) => Array.from({ length: count }, (_, i) => window.client.track(type, { n: from + i })), { type, count, from });

  const queued = (page: Page) => page.evaluate(async () => (await window.client.stats()).queued);

  /** Waits until every id is stored and processed, then checks each is so exactly once. */
  async function expectStoredOnce(ids: string[], timeoutMs = 60_000) {
    const rows = await eventually(async () => {
      const r = await pool.query("SELECT event_id::text AS id, status, session_id, user_id, metadata FROM events WHERE event_id = ANY($1::uuid[]) AND status = 'completed'", [ids]);
      return r.rowCount === ids.length ? r.rows : undefined;
    }, timeoutMs, `${ids.length} events stored and completed`);
    const completed = await pool.query("SELECT event_id::text AS id, count(*)::int AS n FROM event_status_history WHERE event_id = ANY($1::uuid[]) AND status = 'completed' GROUP BY event_id", [ids]);
    expect(completed.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(completed.rowCount).toBe(ids.length);
    return rows as { id: string; status: string; session_id: string | null; user_id: string | null; metadata: Record<string, any> }[];
  }

  /** How many requests that reached the proxy carried each id. */
  const timesSent = (ids: string[]) => {
    const wanted = new Set(ids);
    const counts = new Map<string, number>();
    for (const r of site.seen) for (const id of r.eventIds) if (wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  };

  return {
    site,
    context: browser.context,
    open,
    track,
    queued,
    expectStoredOnce,
    timesSent,
    async close() {
      await browser.close();
      await pool.end();
      await api.close();
      await site.close();
    },
  };
}

export type BrowserHarness = Awaited<ReturnType<typeof startBrowserHarness>>;
