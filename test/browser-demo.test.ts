import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { buildSdk } from './browser/build-sdk.js';
import { launchChromium } from './browser/chromium.js';
import { stack } from './helpers.js';
import { startApp } from './in-process-app.js';

// The /demo page of a development API, used in a real browser: events tracked there show up
// with the SDK's outcome and the status the API reports; production serves no demo.

let browser: Awaited<ReturnType<typeof launchChromium>>;
beforeAll(async () => {
  await buildSdk();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

it('tracks events from the demo page and shows them stored and completed, an invalid one rejected', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${stack().apiUrl}/demo`);
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
  await page.close();
});

it('is not served in production', async () => {
  const { app, close } = await startApp({ NODE_ENV: 'production', PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}`, AUTH_JWT_SECRET: `prod-secret-${randomUUID()}` });
  try {
    expect((await app.inject({ method: 'GET', url: '/demo' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/demo/sdk.js' })).statusCode).toBe(404);
  } finally {
    await close();
  }
});
