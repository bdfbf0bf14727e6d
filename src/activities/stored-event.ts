import { ApplicationFailure } from '@temporalio/activity';
import type { EventEnvelope } from '../events/envelope.js';
import { isPermanentDbError } from '../store/pg-errors.js';

/** A database error that no retry can fix ends the activity at once instead of retrying for ever. */
export async function permanentFailsFast<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isPermanentDbError(err))
      throw ApplicationFailure.nonRetryable(`database refused it: ${err.message} (SQLSTATE ${err.code})`, 'PermanentDatabaseError');
    throw err;
  }
}

/** The envelope's own fields of a stored event (not its status columns): what processors and webhooks see. */
export function envelopeOf(stored: EventEnvelope): EventEnvelope {
  const { event_id, event_type, event_source, event_category, user_id, session_id, data, metadata, timestamp, received_at } = stored;
  return {
    event_id,
    event_type,
    event_source,
    event_category,
    ...(user_id !== undefined && { user_id }),
    ...(session_id !== undefined && { session_id }),
    data,
    metadata,
    timestamp,
    received_at,
  };
}
