import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from './helpers.js';
import { type BrowserHarness, startBrowserHarness } from './browser/sdk-harness.js';

// What the SDK drops, it reports: events the service rejected as invalid, and the oldest events
// evicted when the queue is full. Nothing else leaves the queue unanswered.

let h: BrowserHarness;
beforeAll(async () => {
  h = await startBrowserHarness();
});
afterAll(async () => {
  await h?.close();
});

it('drops only the events the service rejected, reports them with the reasons, and stores the rest', async () => {
  const page = await h.open({ name: `rejected-${randomUUID()}`, batch: 500, interval: 600_000 });
  const good = await h.track(page, 'good_click', 3);
  const bad = await page.evaluate(() => [
    window.client.track('Not.A.Type'),
    window.client.track('bad_category', {}, { category: 'nonsense' }),
  ]);
  await page.evaluate(() => window.client.flush());
  await h.expectStoredOnce(good);
  expect(await h.queued(page)).toBe(0);
  const rejected = await page.evaluate(() => window.reports.filter((r) => r.type === 'rejected').flatMap((r) => r.events));
  expect(rejected.map((r: any) => r.event.event_id).sort()).toEqual([...bad].sort());
  expect(rejected.map((r: any) => r.errors[0].path).sort()).toEqual(['category', 'event_type']);
  expect((await page.evaluate(() => window.client.stats())).rejected).toBe(2);
  await page.close();
});

it('evicts the oldest events beyond the queue cap while offline, counts and reports them, and delivers the rest', async () => {
  const page = await h.open({ name: `evict-${randomUUID()}`, cap: 5, interval: 300, retryBase: 200, retryMax: 1000 });
  await h.context.setOffline(true);
  const ids = await h.track(page, 'capped_click', 8);
  const stats = await page.evaluate(() => window.client.stats());
  expect(stats).toMatchObject({ queued: 5, evicted: 3 });
  const evicted = await page.evaluate(() => window.reports.filter((r) => r.type === 'evicted').flatMap((r) => r.eventIds));
  expect(evicted).toEqual(ids.slice(0, 3));
  await h.context.setOffline(false);
  await h.expectStoredOnce(ids.slice(3));
  await eventually(async () => ((await h.queued(page)) === 0 ? true : undefined), 10_000, 'an empty queue');
  expect(h.timesSent(ids.slice(0, 3)).size).toBe(0);
  await page.close();
});
