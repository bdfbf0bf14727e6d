import { runInNewContext } from 'node:vm';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { demoRoutes } from './demo.js';

// A fresh clone has no sdk/browser/dist (only `npm run build` makes it): the demo page's script
// is bundled from the SDK's source, so /demo works right after `npm install && npm start`.
// The page itself, in a browser against the whole stack, is test/browser-demo.test.ts.

describe('/demo/sdk.js', () => {
  it('is the browser SDK bundled from its source, defining the EventService global the page uses', async () => {
    const app = Fastify();
    await app.register(demoRoutes);
    try {
      const res = await app.inject({ method: 'GET', url: '/demo/sdk.js' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['x-sdk-bundled-from']).toBe('source');
      expect(res.headers['cache-control']).toBe('no-store');
      // As a <script> runs it: a global EventService with the SDK's entry point.
      const globals: Record<string, unknown> = { TextEncoder, TextDecoder };
      runInNewContext(`${res.body}\n;globalThis.__sdk = EventService;`, globals);
      expect(typeof (globals.__sdk as { init?: unknown }).init).toBe('function');
    } finally {
      await app.close();
    }
  });
});
