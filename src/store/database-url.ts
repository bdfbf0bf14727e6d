// libpq's multi-host connection string, which the `pg` package (8.x) does not read: several
// `host:port` pairs, tried in order, and `target_session_attrs` to say which of them will do.
// `postgres://user:password@10.0.0.1:5432,10.0.0.2:5432/events?target_session_attrs=read-write`

export interface DatabaseHost {
  host: string;
  port: number;
  /** The connection string with this host alone, as `pg` reads it. */
  url: string;
}

/** `any`: the first server that answers; `read-write` / `primary`: the first that takes writes. */
export type SessionAttrs = 'any' | 'read-write' | 'primary';

export interface DatabaseUrl {
  hosts: DatabaseHost[];
  sessionAttrs: SessionAttrs;
  /** The same string with the first host alone and without `target_session_attrs`, for `pg`. */
  single: string;
}

const URL_PARTS = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/;
const HOST_PORT = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/;
const SUPPORTED: readonly string[] = ['any', 'read-write', 'primary'];

export function parseDatabaseUrl(url: string): DatabaseUrl {
  const parts = URL_PARTS.exec(url);
  if (!parts) throw new Error('not a postgres:// or postgresql:// URL');
  const [, scheme, auth, hostList, rest] = parts as unknown as [string, string, string | undefined, string, string];
  const [path = '', query = ''] = rest.split('?', 2);
  const params = new URLSearchParams(query);
  const sessionAttrs = params.get('target_session_attrs') ?? 'any';
  if (!SUPPORTED.includes(sessionAttrs)) throw new Error(`target_session_attrs=${sessionAttrs} is not supported (${SUPPORTED.join(', ')})`);
  params.delete('target_session_attrs');
  const left = params.toString();
  const urlOf = (hostPort: string) => `${scheme}${auth === undefined ? '' : `${auth}@`}${hostPort}${path}${left ? `?${left}` : ''}`;
  const hosts = hostList.split(',').map((text) => {
    const m = HOST_PORT.exec(text);
    if (!m) throw new Error(`"${text}" is not host or host:port`);
    const url = urlOf(text);
    new URL(url); // throws on what `pg` could not read either
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: m[2] ? Number(m[2]) : 5432, url };
  });
  return { hosts, sessionAttrs: sessionAttrs as SessionAttrs, single: hosts[0]!.url };
}

/** For the configuration's schema: a single-host URL of any scheme (as before), or libpq's multi-host form. */
export function isDatabaseUrl(url: string): boolean {
  try {
    if (!url.includes(',')) return Boolean(new URL(url));
    parseDatabaseUrl(url);
    return true;
  } catch {
    return false;
  }
}
