import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { eventually, testPool } from '../helpers.js';
import { startApp } from '../in-process-app.js';
import { buildSdk } from './build-sdk.js';
import { launchChromium } from './chromium.js';
import { startSdkSite } from './sdk-site.js';

// What the test page puts on `window`, typed here without the DOM library the Node code does not
// load (the SDK's own types need it): the functions passed to page.evaluate run in the page.
interface SdkStats {
  storage: string;
  queued: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  evicted: number;
  retries: number;
  exitSends: number;
}
export interface SdkReport {
  type: 'sent' | 'rejected' | 'evicted' | 'retry' | 'error';
  [key: string]: any;
}
declare global {
  var window: {
    client: {
      track(type: string, data?: Record<string, unknown>, options?: { category?: string }): string;
      flush(): Promise<void>;
      stats(): Promise<SdkStats>;
      destroy(): void;
    };
    reports: SdkReport[];
    setVisibility(state: 'hidden' | 'visible'): void;
    listened: string[];
  };
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
    // The flush every page starts with (for what earlier visits left queued) is over before the test tracks anything.
    await page.evaluate(() => window.client.flush());
    return page;
  }

  const track = (page: Page, type: string, count: number, from = 0) =>
    page.evaluate(({ type, count, from }) => Array.from({ length: count }, (_, i) => window.client.track(type, { n: from + i })), {
      type,
      count,
      from,
    });

  const queued = (page: Page) => page.evaluate(async () => (await window.client.stats()).queued);

  /** Waits until every id is stored and processed, then checks each is so exactly once. */
  async function expectStoredOnce(ids: string[], timeoutMs = 60_000) {
    const rows = await eventually(
      async () => {
        const r = await pool.query(
          "SELECT event_id::text AS id, status, session_id, user_id, metadata FROM events WHERE event_id = ANY($1::uuid[]) AND status = 'completed'",
          [ids],
        );
        return r.rowCount === ids.length ? r.rows : undefined;
      },
      timeoutMs,
      `${ids.length} events stored and completed`,
    );
    const completed = await pool.query(
      "SELECT event_id::text AS id, count(*)::int AS n FROM event_status_history WHERE event_id = ANY($1::uuid[]) AND status = 'completed' GROUP BY event_id",
      [ids],
    );
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
