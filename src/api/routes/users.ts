import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { announceReadModelsChanged, type StatsCache } from '../../read-side/stats-cache.js';
import type { Pool } from '../../store/pool.js';
import { deleteUserEvents } from '../../read-side/user-deletion.js';
import { idText } from '../schemas/read-side.js';

const deletionSchema = z.object({
  user_id: z.string(),
  deleted: z.number().int().describe('events deleted'),
  sessions: z.number().int().describe('sessions summarized again without them'),
  tombstone_id: z.string(),
  deleted_at: z.string(),
});

// A user's events deleted for privacy (docs/read-side.md, "Deleting a user's events", says what the stream
// and Temporal still hold). Registered by the stats routes, whose cache it invalidates.
export const userRoutes: FastifyPluginAsyncZod<{ pool: Pool; cache: StatsCache }> = async (app, { pool, cache }) => {
  app.delete(
    '/users/:user_id/events',
    {
      config: { scope: 'events:admin' },
      schema: { params: z.object({ user_id: idText }), response: { 200: deletionSchema } },
    },
    async (req) => {
      const deletion = await deleteUserEvents(pool, req.params.user_id, req.tokenSubject);
      await announceReadModelsChanged(pool, cache);
      req.log.info({ deleted: deletion.deleted, tombstone: deletion.tombstone_id }, 'user events deleted');
      return deletion;
    },
  );
};
