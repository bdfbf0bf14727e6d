import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorsPlugin } from '../src/api/plugins/errors.js';
import { eventQueryRoutes } from '../src/api/routes/event-queries.js';
import { statsRoutes } from '../src/api/routes/stats.js';
import { loadConfig, required } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createPool } from '../src/store/pool.js';

// The read routes alone in a process of their own, for `npm run bench:store` to load over HTTP
// without sharing its event loop. Prints its address on stdout once it listens.

const config = loadConfig();
const log = createLogger('bench-read-server', 'warn');
const pool = createPool(required(config.databaseUrl, 'DATABASE_URL'), 10);
const app = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);
await app.register(errorsPlugin);
for (const routes of [eventQueryRoutes, statsRoutes]) await app.register(routes, { prefix: '/api', pool, readPool: pool, config, log });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${address}\n`);
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0)),
);
