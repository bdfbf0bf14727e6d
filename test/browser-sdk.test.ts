import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers.js';
import { type BrowserHarness, startBrowserHarness } from './browser/sdk-harness.js';

// The browser SDK in headless Chromium against the real service: nothing lost across offline
// periods, reloads, 503 bursts and page exits, and nothing stored twice.

describe('browser SDK in Chromium', () => {
  let h: BrowserHarness;
  beforeAll(async () => {
    h = await startBrowserHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const fast = { interval: 300, retryBase: 200, retryMax: 1000 };

  it('keeps events tracked offline across a reload while the API is unreachable, then delivers each once', async () => {
    const name = `offline-${randomUUID()}`;
    const page = await h.open({ name, ...fast });
    expect(await page.evaluate(async () => (await window.client.stats()).storage)).toBe('indexeddb');

    await h.context.setOffline(true);
    const offline = await h.track(page, 'offline_click', 10);
    await page.waitForTimeout(1500);
    expect(await h.queued(page)).toBe(10);
    expect(h.timesSent(offline).size).toBe(0);

    // Back online, but the API cannot be reached: the SDK tries, fails, and keeps everything.
    h.site.setDown(true);
    await h.context.setOffline(false);
    const unreachable = await h.track(page, 'unreachable_click', 5, 10);
    await eventually(async () => ((await page.evaluate(() => window.reports.filter((r) => r.type === 'retry').length)) > 0 ? true : undefined), 10_000, 'a retry');
    const sessionBefore = await page.evaluate(() => window.client.track('before_reload'));
    await page.reload();
    await page.waitForFunction(() => window.client !== undefined);
    const ids = [...offline, ...unreachable, sessionBefore];
    expect(await h.queued(page)).toBe(ids.length);

    h.site.setDown(false);
    const afterReload = await page.evaluate(() => window.client.track('after_reload'));
    const rows = await h.expectStoredOnce([...ids, afterReload]);
    await eventually(async () => ((await h.queued(page)) === 0 ? true : undefined), 10_000, 'an empty queue');
    // One visit, one session, across the reload.
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(1);
    expect(rows[0]!.metadata.sdk).toEqual({ name: 'event-service-browser', version: '0.1.0' });
    expect(rows[0]!.metadata.app).toBe('sdk_test');
    await page.close();
  });
});
