import pg from 'pg';
import type { DatabaseHost, DatabaseUrl } from './database-url.js';

// What libpq does with several hosts and `target_session_attrs=read-write`, for `pg`, which
// connects to one host only: each new pool connection goes to the server last found writable;
// when none is known (first use, or the last one refused a connection or turned read-only) the
// hosts are tried in order until one takes writes. After a failover the pool's connections to the
// dead primary fail, the next ones find the promoted replica: no restart, no configuration change.

type Callback = (err: Error | null, client?: pg.Client) => void;
type WithParameters = { connectionParameters: { host: string; port: number } };

export interface HostPicker {
  /** The server new connections go to; probes the hosts when none is known. */
  pick(): Promise<DatabaseHost>;
  forget(host: DatabaseHost): void;
  readonly wantsWrites: boolean;
}

export function createHostPicker(url: DatabaseUrl, clientConfig: pg.ClientConfig): HostPicker {
  const wantsWrites = url.sessionAttrs !== 'any';
  let current: DatabaseHost | undefined = url.hosts.length === 1 || !wantsWrites ? url.hosts[0] : undefined;
  let probing: Promise<DatabaseHost> | undefined;

  const probe = async (): Promise<DatabaseHost> => {
    const refusals: string[] = [];
    for (const host of url.hosts) {
      const client = new pg.Client({ ...clientConfig, connectionString: host.url, connectionTimeoutMillis: 3_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        if (!wantsWrites || !(await isReadOnly(client))) return host;
        refusals.push(`${host.host}:${host.port} is read-only`);
      } catch (err) {
        refusals.push(`${host.host}:${host.port}: ${(err as Error).message}`);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    throw new Error(`no ${wantsWrites ? 'writable ' : ''}PostgreSQL server among ${url.hosts.length} hosts (${refusals.join('; ')})`);
  };

  return {
    wantsWrites,
    pick() {
      if (current) return Promise.resolve(current);
      probing ??= probe().then(
        (host) => {
          probing = undefined;
          return (current = host);
        },
        (err: unknown) => {
          probing = undefined;
          throw err;
        },
      );
      return probing;
    },
    forget(host) {
      // A single host is the only choice, and `any` leaves the next attempt to the same order.
      if (url.hosts.length > 1 && current === host) current = undefined;
    },
  };
}

/** libpq's test for `read-write`: a hot standby reports on, as does `default_transaction_read_only`. */
async function isReadOnly(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
  return rows[0]?.transaction_read_only === 'on';
}

/** The `Client` class for `pg.Pool` that connects to whichever host `picker` chooses. */
export function pickingClient(picker: HostPicker): typeof pg.Client {
  class PickingClient extends pg.Client {
    // pg-pool calls connect(callback); the promise form is kept for anyone else.
    override connect(): Promise<pg.Client>;
    override connect(callback: Callback): void;
    override connect(callback?: Callback): Promise<pg.Client> | void {
      const done = this.connectToPicked().then(() => this as pg.Client);
      if (!callback) return done;
      done.then((c) => callback(null, c), callback);
    }

    private async connectToPicked(): Promise<void> {
      const host = await picker.pick();
      this.host = host.host;
      this.port = host.port;
      // The TLS server name and error messages read it there.
      const parameters = (this as unknown as WithParameters).connectionParameters;
      parameters.host = host.host;
      parameters.port = host.port;
      try {
        await super.connect();
      } catch (err) {
        picker.forget(host);
        throw err;
      }
      if (picker.wantsWrites && (await isReadOnly(this))) {
        picker.forget(host);
        await this.end().catch(() => undefined);
        throw new Error(`PostgreSQL at ${host.host}:${host.port} has become read-only (a standby)`);
      }
    }
  }
  return PickingClient;
}
