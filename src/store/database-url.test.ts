import { describe, expect, it } from 'vitest';
import { isDatabaseUrl, parseDatabaseUrl } from './database-url.js';

describe('parseDatabaseUrl', () => {
  it("reads libpq's multi-host form into one connection string per host", () => {
    const url = parseDatabaseUrl(
      'postgres://app:s%40cret@10.0.0.1:5433,db-b,[::1]:6543/events?target_session_attrs=read-write&application_name=api',
    );
    expect(url.sessionAttrs).toBe('read-write');
    expect(url.hosts).toEqual([
      { host: '10.0.0.1', port: 5433, url: 'postgres://app:s%40cret@10.0.0.1:5433/events?application_name=api' },
      { host: 'db-b', port: 5432, url: 'postgres://app:s%40cret@db-b/events?application_name=api' },
      { host: '::1', port: 6543, url: 'postgres://app:s%40cret@[::1]:6543/events?application_name=api' },
    ]);
    expect(url.single).toBe(url.hosts[0]!.url);
  });

  it('leaves a single-host URL as it was, any session', () => {
    const url = parseDatabaseUrl('postgresql://u:p@127.0.0.1:5433/events');
    expect(url).toEqual({
      hosts: [{ host: '127.0.0.1', port: 5433, url: 'postgresql://u:p@127.0.0.1:5433/events' }],
      sessionAttrs: 'any',
      single: 'postgresql://u:p@127.0.0.1:5433/events',
    });
  });

  it('refuses what it cannot honour', () => {
    expect(() => parseDatabaseUrl('postgres://a,b/db?target_session_attrs=prefer-standby')).toThrow(/not supported/);
    expect(() => parseDatabaseUrl('postgres://a:b:c,d/db')).toThrow(/host:port/);
    expect(() => parseDatabaseUrl('mysql://a,b/db')).toThrow(/postgres/);
  });

  it('is what the configuration accepts as DATABASE_URL and DATABASE_READ_URL', () => {
    expect(isDatabaseUrl('postgres://u:p@h1:5432,h2:5432/events?target_session_attrs=read-write')).toBe(true);
    expect(isDatabaseUrl('postgres://u:p@h1:5432/events')).toBe(true);
    expect(isDatabaseUrl('not a url')).toBe(false);
    expect(isDatabaseUrl('postgres://h1:x,h2/events')).toBe(false);
  });
});
