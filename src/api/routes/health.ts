import type { FastifyPluginAsync } from 'fastify';

export interface HealthCheck {
  name: string;
  /** Resolves when the dependency is usable; rejects with the reason otherwise. */
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(p: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const healthRoutes: FastifyPluginAsync<{ checks: HealthCheck[] }> = async (app, { checks }) => {
  app.get('/health', async (_req, reply) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        const started = performance.now();
        try {
          await withTimeout(check());
          return [name, { status: 'up', latency_ms: Math.round(performance.now() - started) }] as const;
        } catch (err) {
          return [name, { status: 'down', error: (err as Error).message }] as const;
        }
      }),
    );
    const healthy = results.every(([, r]) => r.status === 'up');
    if (!healthy) void reply.header('retry-after', '5');
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'healthy' : 'unhealthy', checks: Object.fromEntries(results) });
  });
};
