import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError } from '../errors.js';
import { DEMO_PAGE } from './demo-page.js';

// Development only (buildApp leaves it out in production): a page that sends events with the
// browser SDK to this API and shows each one arriving, with its status as the API reports it.

// The same from src/api/routes (tsx) and dist/api/routes (built): three levels up is the repository.
const SDK_DIR = fileURLToPath(new URL('../../../sdk/browser/', import.meta.url));
const SDK_ENTRY = `${SDK_DIR}src/index.ts`;
const SDK_BUNDLE = `${SDK_DIR}dist/event-service.iife.js`;

/**
 * The SDK as a <script>, bundled from its source on each request with esbuild (a dev dependency,
 * ~20 ms), as sdk/browser/build.mjs bundles its IIFE. So the page works on a fresh clone, where
 * nothing has built sdk/browser/dist, and always runs the SDK's current source, never a stale
 * build. The built bundle is the fallback where esbuild or the source is absent.
 */
async function sdkScript(): Promise<{ code: string; from: 'source' | 'build' }> {
  const esbuild = existsSync(SDK_ENTRY) ? await import('esbuild').catch(() => undefined) : undefined;
  if (esbuild) {
    const result = await esbuild
      .build({
        entryPoints: [SDK_ENTRY],
        bundle: true,
        format: 'iife',
        globalName: 'EventService',
        target: 'es2020',
        platform: 'browser',
        legalComments: 'none',
        sourcemap: 'inline',
        write: false,
        logLevel: 'silent',
      })
      .catch((err: Error) => {
        throw new HttpError(500, 'sdk_build_failed', `the browser SDK's source does not bundle: ${err.message}`);
      });
    return { code: result.outputFiles[0]!.text, from: 'source' };
  }
  const code = await readFile(SDK_BUNDLE, 'utf8').catch(() => {
    throw new HttpError(
      404,
      'not_found',
      'the browser SDK is not built (and esbuild is not installed to bundle it): run npm run build -w sdk/browser',
    );
  });
  return { code, from: 'build' };
}

export const demoRoutes: FastifyPluginAsync = async (app) => {
  app.get('/demo', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(DEMO_PAGE));

  app.get('/demo/sdk.js', { schema: { hide: true } }, async (_req, reply) => {
    const { code, from } = await sdkScript();
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-store').header('x-sdk-bundled-from', from).send(code);
  });
};
