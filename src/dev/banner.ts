import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { RunningStack } from './stack.js';

// What `npm start` prints once everything answers: where each thing is, and a first request to
// send. Plain text, so it reads the same in a terminal and in a log file; bold only on a TTY.

export interface BannerInfo {
  /** The API as a browser reaches it, e.g. http://localhost:3000. */
  apiUrl: string;
  /** The worker's health server, e.g. http://localhost:3001. */
  workerHealthUrl: string;
  temporalUiUrl: string;
  /** What the services were given (started by `npm start` or configured), shown as they are. */
  temporalAddress: string;
  natsUrl: string;
  databaseUrl: string;
  /** The read replica, when reads have one. */
  databaseReadUrl?: string;
  /** Where `npm start` keeps its data and logs, when it started anything. */
  dataDir?: string;
}

export function banner(info: BannerInfo, { bold = false }: { bold?: boolean } = {}): string {
  const b = (s: string) => (bold ? `\x1b[1m${s}\x1b[22m` : s);
  const api = info.apiUrl.replace(/\/$/, '');
  const host = api.replace(/^https?:\/\//, '');
  const rows: [string, string, string?][] = [
    ['API', api],
    ['API docs', `${api}/docs`, 'OpenAPI, try requests in the browser'],
    ['Demo page', `${api}/demo`, 'the browser SDK sending events here'],
    ['Temporal UI', info.temporalUiUrl, 'one workflow per event'],
    ['Metrics', `${api}/metrics`, 'Prometheus text'],
    ['Worker health', `${info.workerHealthUrl.replace(/\/$/, '')}/health/ready`],
  ];
  const deps: [string, string][] = [
    ['Temporal', info.temporalAddress],
    ['NATS', info.natsUrl],
    ['PostgreSQL', info.databaseUrl],
    ...(info.databaseReadUrl ? [['PostgreSQL reads', info.databaseReadUrl] as [string, string]] : []),
  ];
  const width = Math.max(...[...rows, ...deps].map(([name]) => name.length)) + 2;
  const urlWidth = Math.max(...rows.map(([, url]) => url.length)) + 2;
  const line = (name: string, value: string, note?: string) =>
    `  ${name.padEnd(width)}${note ? `${value.padEnd(urlWidth)}${note}` : value}`.trimEnd();
  return [
    '',
    `  ${b('Event Service is up')}`,
    '',
    ...rows.map(([name, url, note]) => line(name, url, note)),
    '',
    ...deps.map(([name, value]) => line(name, value)),
    ...(info.dataDir ? [line('Data, logs', info.dataDir)] : []),
    '',
    `  ${b('Send a first event:')}`,
    `    curl -XPOST ${host}/api/events/create -H 'content-type: application/json' \\`,
    `      -d '{"event_type":"user_created","data":{"id":1}}'`,
    `    curl ${host}/api/events/<event_id>    # "status":"completed"`,
    '',
    '  Ctrl-C stops everything `npm start` started.',
    '',
  ].join('\n');
}

/**
 * Prints the banner for `npm start` once the worker is ready too (the API answers first; the
 * worker bundles the workflow code before it polls, tens of seconds on a busy machine): on stdout
 * in a terminal; when stdout is piped it stays JSON lines (one structured line with the same
 * addresses) and the banner goes to stderr.
 */
export async function printBanner(
  config: Config,
  stack: Pick<
    RunningStack,
    'temporalAddress' | 'temporalUiUrl' | 'natsUrl' | 'databaseUrl' | 'databaseFailoverUrl' | 'databaseReadUrl' | 'pids'
  >,
  log: Logger,
  { workerTimeoutMs = 300_000 }: { workerTimeoutMs?: number } = {},
): Promise<void> {
  const info: BannerInfo = {
    apiUrl: `http://localhost:${config.http.port}`,
    workerHealthUrl: `http://localhost:${config.worker.healthPort}`,
    temporalUiUrl: stack.temporalUiUrl ?? config.temporal.uiUrl,
    // Addresses someone configured may hold a real password; the dev stack's own are throwaway.
    temporalAddress: config.temporal.address ?? stack.temporalAddress ?? '',
    natsUrl: config.natsUrl ? withoutPassword(config.natsUrl) : (stack.natsUrl ?? ''),
    databaseUrl: config.databaseUrl ? withoutPassword(config.databaseUrl) : (stack.databaseFailoverUrl ?? stack.databaseUrl ?? ''),
    ...((config.databaseReadUrl ?? stack.databaseReadUrl) && {
      databaseReadUrl: config.databaseReadUrl ? withoutPassword(config.databaseReadUrl) : stack.databaseReadUrl,
    }),
    ...(Object.keys(stack.pids).length > 0 && { dataDir: config.dev.dataDir }),
  };
  const workerReady = `http://127.0.0.1:${config.worker.healthPort}/health/ready`;
  if (!(await answers(workerReady))) {
    log.info('the API is up; waiting for the worker, which bundles the workflow code first (events sent meanwhile wait in the stream)');
    if (!(await answers(workerReady, workerTimeoutMs)))
      log.warn({ url: workerReady }, 'the worker is still not ready; events wait in the stream until it is');
  }
  if (process.stdout.isTTY) {
    process.stdout.write(banner(info, { bold: true }));
    return;
  }
  log.info(info, 'Event Service is up');
  process.stderr.write(banner(info));
}

/** Whether `url` answers 2xx within `timeoutMs` (once, without a timeout). */
async function answers(url: string, timeoutMs = 0): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      )
    )
      return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `scheme://user:secret@host` -> `scheme://user:***@host` (each of a comma-separated list); anything else as it is. */
export function withoutPassword(url: string): string {
  return url
    .split(',')
    .map((u) => u.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@'))
    .join(',');
}
