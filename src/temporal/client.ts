import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config.js';
import { createDataConverter } from './codec.js';
import { temporalConnectionOptions } from './connection-options.js';

export async function connectTemporal(address: string, config: Pick<Config, 'env' | 'temporal' | 'payloadCodec'>): Promise<Client> {
  const dataConverter = createDataConverter(config);
  const connection = await Connection.connect(temporalConnectionOptions(address, config.temporal));
  return new Client({ connection, namespace: config.temporal.namespace, ...(dataConverter && { dataConverter }) });
}

export function workflowUiUrl(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
