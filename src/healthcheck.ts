import { loadConfig } from './config.js';

// The container image's HEALTHCHECK: exits 0 when the service in this container answers healthy.
// `node dist/healthcheck.js` checks the API's /health; `... worker` the worker's /health/live.
const config = loadConfig();
const url =
  process.argv[2] === 'worker' ? `http://127.0.0.1:${config.worker.healthPort}/health/live` : `http://127.0.0.1:${config.http.port}/health`;
fetch(url, { signal: AbortSignal.timeout(2_500) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
