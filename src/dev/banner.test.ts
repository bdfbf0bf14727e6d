import { describe, expect, it } from 'vitest';
import { banner, withoutPassword } from './banner.js';

const info = {
  apiUrl: 'http://localhost:3000',
  workerHealthUrl: 'http://localhost:3001',
  temporalUiUrl: 'http://localhost:8233',
  temporalAddress: '127.0.0.1:7233',
  natsUrl: 'nats://127.0.0.1:4223',
  databaseUrl: 'postgres://events:events@127.0.0.1:5433/events',
  dataDir: '/repo/.data/dev',
};

describe('the npm start banner', () => {
  it('names every place a newcomer opens, and a first request that works', () => {
    const text = banner(info);
    for (const url of [
      'http://localhost:3000', 'http://localhost:3000/docs', 'http://localhost:3000/demo', 'http://localhost:8233',
      'http://localhost:3000/metrics', 'http://localhost:3001/health/ready', '127.0.0.1:7233', 'nats://127.0.0.1:4223',
      'postgres://events:events@127.0.0.1:5433/events', '/repo/.data/dev',
    ]) {
      expect(text).toContain(url);
    }
    expect(text).toContain(`curl -XPOST localhost:3000/api/events/create -H 'content-type: application/json' \\\n      -d '{"event_type":"user_created","data":{"id":1}}'`);
    // Plain text unless asked: no escape codes in a log file.
    expect(text).not.toContain('\x1b');
    expect(banner(info, { bold: true })).toContain('\x1b[1m');
  });

  it('lines its columns up', () => {
    const urlColumns = banner(info).split('\n').filter((l) => l.includes('http://')).map((l) => l.indexOf('http://'));
    expect(new Set(urlColumns).size).toBe(1);
  });

  it('hides the password of a configured address', () => {
    expect(withoutPassword('postgres://app:s3cret@db:5432/events')).toBe('postgres://app:***@db:5432/events');
    expect(withoutPassword('nats://u:p@a:4222,nats://u:p@b:4222')).toBe('nats://u:***@a:4222,nats://u:***@b:4222');
    expect(withoutPassword('nats://a:4222')).toBe('nats://a:4222');
    expect(withoutPassword('postgres://app@db/events')).toBe('postgres://app@db/events');
  });
});
