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
    await eventually(
      async () => ((await page.evaluate(() => window.reports.filter((r) => r.type === 'retry').length)) > 0 ? true : undefined),
      10_000,
      'a retry',
    );
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
    // Every request stamped sent_at, so the service measured the browser's clock against its own.
    expect(rows.filter((r) => typeof r.metadata.clock_skew_ms !== 'number')).toEqual([]);
    await page.close();
  });

  it('retries a burst of 503s with Retry-After, without losing or storing twice, even when an answer is lost', async () => {
    const name = `burst-${randomUUID()}`;
    const page = await h.open({ name, batch: 5, interval: 300, retryBase: 200, retryMax: 2000 });
    // The first batch reaches the API and is stored, but its answer is a 503: the retry must be a duplicate, not a second row.
    h.site.failNext(4, { retryAfter: 1, forwardFirst: true });
    const ids = await h.track(page, 'burst_click', 12);
    await h.expectStoredOnce(ids);
    await eventually(async () => ((await h.queued(page)) === 0 ? true : undefined), 20_000, 'an empty queue');

    const batches = h.site.seen.filter((r) => r.eventIds.some((id) => ids.includes(id)));
    const failed = batches.filter((r) => r.status === 503);
    expect(failed).toHaveLength(4);
    // Retry-After: 1 is a floor for the next attempt, whatever the backoff says.
    const afterFailure = batches
      .slice(1)
      .map((r, i) => [batches[i]!, r] as const)
      .filter(([prev]) => prev.status === 503);
    for (const [prev, next] of afterFailure) expect(next.at - prev.at).toBeGreaterThanOrEqual(950);
    const stats = await page.evaluate(() => window.client.stats());
    expect(stats.retries).toBeGreaterThanOrEqual(4);
    // The events of the batch whose answer was lost came back as duplicates.
    expect(stats.duplicates).toBe(failed[0]!.eventIds.length);
    expect(stats.accepted + stats.duplicates).toBe(ids.length);
    const retries = await page.evaluate(() => window.reports.filter((r) => r.type === 'retry'));
    expect(retries.every((r) => r.delayMs >= 1000 && /503/.test(r.reason))).toBe(true);
    await page.close();
  });

  it('delivers the tail when the page is left, in a keepalive text/plain request with the key in the body', async () => {
    const name = `exit-${randomUUID()}`;
    // No timer would send these before the page goes.
    const page = await h.open({ name, batch: 500, interval: 600_000 });
    const listened = await page.evaluate(() => window.listened);
    expect(listened).toEqual(expect.arrayContaining(['pagehide', 'visibilitychange']));
    expect(listened.filter((type) => type === 'unload' || type === 'beforeunload')).toEqual([]);
    const ids = await h.track(page, 'tail_click', 7);
    await page.evaluate(() => window.client.stats());
    expect(h.timesSent(ids).size).toBe(0);
    await page.goto('about:blank');
    await h.expectStoredOnce(ids);
    const exits = h.site.seen.filter((r) => r.eventIds.some((id) => ids.includes(id)));
    // visibilitychange and pagehide both fired; the tail went once.
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({
      contentType: expect.stringMatching(/^text\/plain/),
      writeKeyHeader: false,
      writeKeyInBody: true,
      status: 202,
    });
    await page.close();
  });

  it('a tab hidden and shown again reads the answer of its page-exit request and does not send the events again', async () => {
    const name = `hidden-${randomUUID()}`;
    const page = await h.open({ name, batch: 500, interval: 600_000 });
    const ids = await h.track(page, 'hidden_click', 4);
    await page.evaluate(() => window.client.stats());
    // Headless Chromium never hides a tab by itself: the page is told it is hidden, as a tab switch would.
    await page.evaluate(() => window.setVisibility('hidden'));
    await eventually(async () => ((await h.queued(page)) === 0 ? true : undefined), 10_000, 'the queue emptied by the exit answer');
    await page.evaluate(() => {
      window.setVisibility('visible');
      return window.client.flush();
    });
    await h.expectStoredOnce(ids);
    expect([...h.timesSent(ids).values()]).toEqual(ids.map(() => 1));
    expect((await page.evaluate(() => window.client.stats())).exitSends).toBe(1);
    await page.close();
  });

  it('two tabs sharing the queue never send the same event twice', async () => {
    const name = `tabs-${randomUUID()}`;
    const params = { name, batch: 5, interval: 100, retryBase: 200, retryMax: 1000 };
    const [a, b] = [await h.open(params), await h.open(params)];
    const tracked = await Promise.all(
      [a, b].map(async (page, tab) => {
        const ids: string[] = [];
        for (let round = 0; round < 10; round++) {
          ids.push(...(await h.track(page, 'tab_click', 3, tab * 100 + round * 3)));
          await page.waitForTimeout(40);
        }
        return ids;
      }),
    );
    const ids = tracked.flat();
    await h.expectStoredOnce(ids);
    await eventually(async () => ((await h.queued(a)) === 0 ? true : undefined), 20_000, 'an empty queue');
    const sent = h.timesSent(ids);
    expect(sent.size).toBe(ids.length);
    expect([...sent.values()].filter((n) => n !== 1)).toEqual([]);
    // Each tab's events reached the service, whichever tab sent them; closing the tabs sends nothing more.
    await Promise.all([a.close(), b.close()]);
    await new Promise((r) => setTimeout(r, 500));
    expect([...h.timesSent(ids).values()].filter((n) => n !== 1)).toEqual([]);
  });
});
