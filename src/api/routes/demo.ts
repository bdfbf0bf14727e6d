import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError } from '../errors.js';
import { DEMO_PAGE } from './demo-page.js';

// Development only (buildApp leaves it out in production): a page that sends events with the
// browser SDK to this API and shows each one arriving, with its status as the API reports it.

// The same from src/api/routes (tsx) and dist/api/routes (built): three levels up is the repository.
const SDK_BUNDLE = fileURLToPath(new URL('../../../sdk/browser/dist/event-service.iife.js', import.meta.url));

export const demoRoutes: FastifyPluginAsync = async (app) => {
  app.get('/demo', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(DEMO_PAGE));

  app.get('/demo/sdk.js', { schema: { hide: true } }, async (_req, reply) => {
    // Read on each request, so a rebuilt SDK shows without restarting the API.
    const code = await readFile(SDK_BUNDLE, 'utf8').catch(() => {
      throw new HttpError(404, 'not_found', 'the browser SDK is not built: run npm run build -w sdk/browser');
    });
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-store').send(code);
  });
};
