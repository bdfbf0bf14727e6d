import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { fieldCryptoFor } from '../../crypto/field-crypto.js';
import { createRedactor } from '../../events/redact.js';
import { createDeadLetters, deadLetterRecord } from '../../nats/dead-letters.js';
import type { AppDeps } from '../app-deps.js';
import { dependencyDown } from '../errors.js';

const query = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before_seq: z.coerce.number().int().min(1).optional(),
});

const deadLetter = deadLetterRecord.extend({ seq: z.number() });
type DeadLetter = z.infer<typeof deadLetter>;

const page = z.object({
  dead_letters: z.array(deadLetter),
  total: z.number(),
  next_before_seq: z.number().nullable(),
});

// Messages from the event stream that could never become events (bad JSON, schema violations,
// subjects that do not match their body), newest first, for an operator to inspect.
export const deadLettersRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'js' | 'jsm' | 'config'>> = async (app, { js, jsm, config }) => {
  const deadLetters = createDeadLetters({ js, jsm, stream: config.stream, redact: createRedactor(config.sensitiveFields) });
  const fields = config.encryptedFields.length > 0 ? fieldCryptoFor(config) : undefined;
  // The stream holds the encrypted fields in clear; a JSON body shows them only to events:decrypt.
  const mask = (r: DeadLetter): DeadLetter => {
    if (r.body_encoding !== 'utf8' || !fields) return r;
    try {
      const parsed: unknown = JSON.parse(r.body);
      const shown = JSON.stringify(fields.mask(parsed));
      return shown === JSON.stringify(parsed) ? r : { ...r, body: shown };
    } catch {
      return r;
    }
  };

  app.get('/dead-letters', { config: { scope: 'events:admin' }, schema: { querystring: query, response: { 200: page } } }, async (req) => {
    const { items, total, nextBeforeSeq } = await deadLetters
      .list({ limit: req.query.limit, ...(req.query.before_seq && { beforeSeq: req.query.before_seq }) })
      .catch((err: Error) => {
        throw dependencyDown('JetStream', err.message);
      });
    return { dead_letters: req.fieldView === 'clear' ? items : items.map(mask), total, next_before_seq: nextBeforeSeq };
  });
};
