import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentEventId } from '../src/events/segment.js';
import { launchChromium } from './browser/chromium.js';
import { expectStoredAndProcessedOnce, get, testPool, testTemporal, waitForStatus } from './helpers.js';
import { startApp } from './in-process-app.js';

// Segment's browser library, @segment/analytics-next, from npm and unchanged (its own UMD
// bundle, served by the page's origin as a site would serve it), in headless Chromium against
// an API on another origin: it loads its settings from the API, sends each call as text/plain
// with the write key, and every call is stored, completed and mapped.

const UMD = join(process.cwd(), 'node_modules/@segment/analytics-next/dist/umd');
const WRITE_KEY = `wk_web_${randomUUID()}`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>analytics.js test page</title>
<script src="/ajs/index.js"></script></head><body><script>
const q = new URLSearchParams(location.search);
window.ajs = AnalyticsNext.AnalyticsBrowser.load({ writeKey: q.get('key'), cdnURL: q.get('api') });
</script></body></html>`;

let site: Server;
let siteUrl: string;
let app: FastifyInstance;
let closeApp: () => Promise<void>;
let apiUrl: string;
let browser: { context: BrowserContext; close(): Promise<void> };

beforeAll(async () => {
  site = createServer((req, res) => {
    void (async () => {
      if (req.url === '/favicon.ico') return void res.writeHead(204).end();
      if (req.url?.startsWith('/page.html')) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      if (req.url?.startsWith('/ajs/')) {
        const file = await readFile(join(UMD, basename(req.url))).catch(() => undefined);
        if (file) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(file);
      }
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  ({ app, close: closeApp } = await startApp({ WRITE_KEYS: `web:${WRITE_KEY}`, CORS_ORIGINS: siteUrl }));
  // "localhost", not the site's 127.0.0.1: the API is another origin, as on a real site.
  apiUrl = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('127.0.0.1', 'localhost');
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await closeApp?.();
  await new Promise((resolve) => site?.close(resolve));
});

describe('@segment/analytics-next in Chromium', () => {
  it('loads its settings from the service and delivers track, identify and page calls, each stored once and completed', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} ${m.location().url}`));
    await page.goto(`${siteUrl}/page.html?key=${WRITE_KEY}&api=${encodeURIComponent(apiUrl)}`);
    const userId = `web-user-${randomUUID().slice(0, 8)}`;
    const sent = await page.evaluate(async (user) => {
      const a = (window as unknown as { ajs: any }).ajs;
      const track = await a.track('Order Completed', { revenue: 19.99 });
      const identify = await a.identify(user, { plan: 'team' });
      const pageCall = await a.page('Docs', 'Getting Started', { path: '/docs' });
      const failed = [track, identify, pageCall].filter((ctx: any) => ctx.failedDelivery()).length;
      return {
        ids: [track, identify, pageCall].map((ctx: any) => ctx.event.messageId as string),
        anonymousId: track.event.anonymousId as string,
        failed,
      };
    }, userId);
    expect(errors).toEqual([]);
    expect(sent.failed).toBe(0);

    const [track, identify, pageView] = await Promise.all(sent.ids.map((id) => waitForStatus(segmentEventId('web', id), 'completed')));
    expect(track).toMatchObject({
      event_type: 'order_completed',
      user_id: sent.anonymousId,
      data: { revenue: 19.99 },
      metadata: {
        app: 'web',
        page_url: `${siteUrl}/page.html?key=${WRITE_KEY}&api=${encodeURIComponent(apiUrl)}`,
        client: { browser: { name: expect.stringMatching(/Chrom/) } },
        segment: { type: 'track', event: 'Order Completed', anonymousId: sent.anonymousId, context: { library: { name: 'analytics.js' } } },
      },
    });
    // analytics.js stamps each call with `timestamp` and `sentAt` by the browser clock: the service measured its skew.
    expect(typeof track!.metadata.clock_skew_ms).toBe('number');
    expect(identify).toMatchObject({ event_type: 'identify', user_id: userId, data: { plan: 'team' } });
    expect(pageView).toMatchObject({
      event_type: 'page_view',
      user_id: userId,
      metadata: { segment: { name: 'Getting Started', category: 'Docs' } },
    });
    const [pool, temporal] = [testPool(), await testTemporal()];
    try {
      for (const id of sent.ids) await expectStoredAndProcessedOnce(pool, temporal, segmentEventId('web', id));
    } finally {
      await pool.end();
      await temporal.connection.close();
    }
    expect((await get(`/api/users/${userId}/events`)).body.items.map((e: { event_type: string }) => e.event_type).sort()).toEqual([
      'identify',
      'page_view',
    ]);
    await page.close();
  });

  it('gets 404 for the settings of a key that is not configured', async () => {
    const res = await fetch(`${apiUrl}/v1/projects/wk_nobody/settings`);
    expect(res.status).toBe(404);
    const ok = await fetch(`${apiUrl}/v1/projects/${WRITE_KEY}/settings`);
    const settings = (await ok.json()) as { integrations: Record<string, { apiHost: string; protocol: string }> };
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: `${new URL(apiUrl).host}/v1`, protocol: 'http' });
  });
});
