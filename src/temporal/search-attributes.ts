import type { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions.js';

/**
 * Registers the event search attributes on a Temporal server that lacks them (the dev server
 * gets them at start; a shared cluster gets them here, once).
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  log: { info(obj: object, msg: string): void },
): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((k) => !customAttributes?.[k.name]);
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, encodeSearchAttributeIndexedValueType(k.type)!])),
  });
  log.info({ added: missing.map((k) => k.name) }, 'search attributes registered');
}
