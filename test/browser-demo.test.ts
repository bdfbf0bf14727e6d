import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { launchChromium } from './browser/chromium.js';
import { stack } from './helpers.js';
import { startApp } from './in-process-app.js';

// The /demo page of a development API, used in a real browser: events tracked there show up
// with the SDK's outcome and the status the API reports; production serves no demo.
// Nothing builds the SDK first, as on a fresh clone (no sdk/browser/dist): the API bundles the
// page's script from the SDK's source (src/api/routes/demo.ts).

let browser: Awaited<ReturnType<typeof launchChromium>>;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

it('tracks events from the demo page and shows them stored and completed, an invalid one rejected', async () => {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const script = page.waitForResponse((r) => r.url().endsWith('/demo/sdk.js'));
  await page.goto(`${stack().apiUrl}/demo`);
  const sdk = await script;
  expect(sdk.status()).toBe(200);
  // From the source, not a build a previous test or `npm run build` may have left.
  expect(sdk.headers()['x-sdk-bundled-from']).toBe('source');
  const type = `demo_click_${randomUUID().slice(0, 8)}`;
  await page.fill('#type', type);
  await page.click('#track button[type=submit]');
  await page.click('#bad');
  await page.click('#flush');
  const row = page.locator('#rows tr', { hasText: type });
  await row.locator('td:nth-child(5) .s.completed').waitFor({ timeout: 30_000 });
  expect(await row.locator('td:nth-child(4)').textContent()).toBe('accepted');
  const invalid = page.locator('#rows tr', { hasText: 'Not.Valid' }).first();
  expect(await invalid.locator('td:nth-child(4)').textContent()).toMatch(/^rejected: event_type/);
  expect(await page.textContent('#stats')).toMatch(/storage: indexeddb/);
  await mkdir(join(loadConfig().dev.testDataDir), { recursive: true });
  await page.screenshot({ path: join(loadConfig().dev.testDataDir, 'demo.png'), fullPage: true });
  expect(errors).toEqual([]);
  await page.close();
});

it('is not served in production', async () => {
  const { app, close } = await startApp({
    NODE_ENV: 'production',
    PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    AUTH_JWT_SECRET: `prod-secret-${randomUUID()}`,
  });
  try {
    expect((await app.inject({ method: 'GET', url: '/demo' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/demo/sdk.js' })).statusCode).toBe(404);
  } finally {
    await close();
  }
});
