import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { EventCategoryKey, EventSourceKey, EventStatusKey, EventStatusSinceKey, EventTypeKey } from '../workflows/definitions.js';
import { waitUntil } from './ports.js';

// A Temporal server's readiness for the service, single process or split (cluster/): it answers,
// and its namespace serves the event search attributes.

const NAMESPACE = 'default';
const RETENTION_DAYS = 7;

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/** The frontend at this address answers. */
export async function serves(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 }).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

/**
 * The namespace and search attributes, then a probe start that sets every search attribute: the
 * frontend caches namespaces and search attributes, and the API and worker must not start before
 * it accepts both (a start refused for an unknown attribute would be dead-lettered).
 */
export async function registerNamespace(address: string, log: Log): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const exists = await connection.workflowService.describeNamespace({ namespace: NAMESPACE }).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await connection.workflowService.registerNamespace({
        namespace: NAMESPACE,
        workflowExecutionRetentionPeriod: msToTs(RETENTION_DAYS * 86_400_000),
      });
      log.info({ namespace: NAMESPACE, retentionDays: RETENTION_DAYS }, 'Temporal namespace registered');
    }
    // A namespace just registered reaches the server's namespace cache a few seconds later.
    await waitUntil(
      `namespace ${NAMESPACE} to be served`,
      () =>
        ensureSearchAttributes(connection, NAMESPACE, log).then(
          () => true,
          () => false,
        ),
      60_000,
      undefined,
      500,
    );
    const client = new Client({ connection, namespace: NAMESPACE });
    const probe = `stack-probe-${process.pid}-${Date.now()}`;
    await waitUntil(
      'the Temporal frontend to accept the event search attributes',
      async () => {
        try {
          const handle = await client.workflow.start('stackProbe', {
            taskQueue: 'stack-probe',
            workflowId: probe,
            typedSearchAttributes: [
              { key: EventStatusKey, value: 'probe' },
              { key: EventTypeKey, value: 'probe' },
              { key: EventSourceKey, value: 'probe' },
              { key: EventCategoryKey, value: 'probe' },
              { key: EventStatusSinceKey, value: new Date() },
            ],
          });
          await handle.terminate('stack probe');
          return true;
        } catch {
          return false;
        }
      },
      90_000,
      undefined,
      1_000,
    );
  } finally {
    await connection.close();
  }
}
