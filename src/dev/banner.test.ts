import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config.js';
import { banner, printBanner, withoutPassword } from './banner.js';

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
      'http://localhost:3000',
      'http://localhost:3000/docs',
      'http://localhost:3000/demo',
      'http://localhost:8233',
      'http://localhost:3000/metrics',
      'http://localhost:3001/health/ready',
      '127.0.0.1:7233',
      'nats://127.0.0.1:4223',
      'postgres://events:events@127.0.0.1:5433/events',
      '/repo/.data/dev',
    ]) {
      expect(text).toContain(url);
    }
    expect(text).toContain(
      `curl -XPOST localhost:3000/api/events/create -H 'content-type: application/json' \\\n      -d '{"event_type":"user_created","data":{"id":1}}'`,
    );
    // Plain text unless asked: no escape codes in a log file.
    expect(text).not.toContain('\x1b');
    expect(banner(info, { bold: true })).toContain('\x1b[1m');
  });

  it('lines its columns up', () => {
    const urlColumns = banner(info)
      .split('\n')
      .filter((l) => l.includes('http://'))
      .map((l) => l.indexOf('http://'));
    expect(new Set(urlColumns).size).toBe(1);
  });

  it('hides the password of a configured address', () => {
    expect(withoutPassword('postgres://app:s3cret@db:5432/events')).toBe('postgres://app:***@db:5432/events');
    expect(withoutPassword('nats://u:p@a:4222,nats://u:p@b:4222')).toBe('nats://u:***@a:4222,nats://u:***@b:4222');
    expect(withoutPassword('nats://a:4222')).toBe('nats://a:4222');
    expect(withoutPassword('postgres://app@db/events')).toBe('postgres://app@db/events');
  });
});

describe('printBanner', () => {
  it('waits for the worker to be ready, then prints (piped: one JSON line, the banner on stderr)', async () => {
    let asked = 0;
    const health = createServer((_req, res) => void res.writeHead(++asked < 3 ? 503 : 200).end());
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) }));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const tty = process.stdout.isTTY;
    process.stdout.isTTY = false;
    try {
      const config = loadConfig({
        PORT: '3999',
        WORKER_HEALTH_PORT: String((health.address() as AddressInfo).port),
        DATABASE_URL: 'postgres://app:s3cret@db:5432/events',
      });
      await printBanner(
        config,
        { temporalAddress: '127.0.0.1:7233', temporalUiUrl: 'http://localhost:8233', natsUrl: 'nats://127.0.0.1:4223', pids: {} },
        log,
        { workerTimeoutMs: 10_000 },
      );
      expect(asked).toBe(3);
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual([expect.stringContaining('waiting for the worker'), 'Event Service is up']);
      expect(JSON.parse(lines[1]!)).toMatchObject({ apiUrl: 'http://localhost:3999', databaseUrl: 'postgres://app:***@db:5432/events' });
      expect(stderr.mock.calls.map(([text]) => String(text)).join('')).toContain('http://localhost:3999/docs');
    } finally {
      process.stdout.isTTY = tty;
      stderr.mockRestore();
      health.close();
    }
  });
});
