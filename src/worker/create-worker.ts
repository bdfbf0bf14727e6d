import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../config.js';
import { createActivities } from '../activities/index.js';
import { createProcessorRegistry, type Processor } from '../activities/processors.js';
import { createEventsRepo } from '../store/events-repo.js';
import type { Pool } from '../store/pool.js';
import { modulePath } from '../source-path.js';

export const WORKFLOWS_PATH = modulePath('../workflows/index', import.meta.url);

export interface WorkerDeps {
  connection: NativeConnection;
  pool: Pool;
  config: Pick<Config, 'temporal' | 'worker'>;
  processors?: Processor[];
}

export function createWorker({ connection, pool, config, processors = [] }: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities({ repo: createEventsRepo(pool), processors: createProcessorRegistry(processors) }),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
  });
}
