import { describe, expect, it } from 'vitest';
import { createClientInfoReader, parseUserAgent } from './client-info.js';
import { correctTimestamp, enrichMetadata } from './enrich.js';

const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

describe('user agent parsing', () => {
  it('reads browser, OS and device of a desktop browser', () => {
    expect(parseUserAgent(CHROME_MAC)).toEqual({
      browser: { name: 'Chrome', version: '124.0.0.0' },
      os: { name: 'Mac OS', version: '10.15.7' },
      device: { type: 'desktop', vendor: 'Apple', model: 'Macintosh' },
    });
  });

  it('reads a phone', () => {
    expect(parseUserAgent(SAFARI_IPHONE)).toEqual({
      browser: { name: 'Mobile Safari', version: '17.4' },
      os: { name: 'iOS', version: '17.4' },
      device: { type: 'mobile', vendor: 'Apple', model: 'iPhone' },
    });
  });

  it('says unknown rather than guessing for an unreadable agent', () => {
    expect(parseUserAgent('curl-ish/0')).toEqual({ browser: {}, os: {}, device: { type: 'unknown' } });
  });
});

describe('client info', () => {
  const read = createClientInfoReader();

  it('takes the raw and parsed user agent, the Referer page and the first language', () => {
    const info = read({
      ip: '198.51.100.7',
      headers: { 'user-agent': CHROME_MAC, referer: 'https://shop.example/cart', 'accept-language': 'fr-CH, fr;q=0.9, en;q=0.8' },
    });
    expect(info).toEqual({
      client: { ip: '198.51.100.7', user_agent: CHROME_MAC, ...parseUserAgent(CHROME_MAC) },
      referer: 'https://shop.example/cart',
      language: 'fr-CH',
    });
  });
});

describe('timestamp correction', () => {
  const receivedAt = new Date('2025-06-01T12:00:00.000Z');
  const maxFutureSkewMs = 5 * 60_000;

  it('uses received_at when the client gives no timestamp', () => {
    expect(correctTimestamp({ receivedAt, maxFutureSkewMs })).toEqual({ timestamp: '2025-06-01T12:00:00.000Z' });
  });

  it('keeps a plausible timestamp without sent_at, normalised to UTC', () => {
    expect(correctTimestamp({ timestamp: '2025-06-01T13:59:00+02:00', receivedAt, maxFutureSkewMs }).timestamp).toBe(
      '2025-06-01T11:59:00.000Z',
    );
  });

  it('moves the event by the client clock error when sent_at is given', () => {
    // The client clock is 1 hour behind: it says the event happened 5 s before it was sent.
    const r = correctTimestamp({ timestamp: '2025-06-01T10:59:50.000Z', sentAt: '2025-06-01T10:59:55.000Z', receivedAt, maxFutureSkewMs });
    expect(r).toEqual({ timestamp: '2025-06-01T11:59:55.000Z', clockSkewMs: 3_605_000 });
    const ahead = correctTimestamp({
      timestamp: '2025-06-02T12:00:00.000Z',
      sentAt: '2025-06-02T12:00:30.000Z',
      receivedAt,
      maxFutureSkewMs,
    });
    expect(ahead.timestamp).toBe('2025-06-01T11:59:30.000Z');
  });

  it('clamps a timestamp too far in the future to received_at and says so', () => {
    const r = correctTimestamp({ timestamp: '2025-06-01T12:05:01.000Z', receivedAt, maxFutureSkewMs });
    expect(r).toEqual({ timestamp: '2025-06-01T12:00:00.000Z', clampedFrom: '2025-06-01T12:05:01.000Z' });
    expect(correctTimestamp({ timestamp: '2025-06-01T12:04:59.000Z', receivedAt, maxFutureSkewMs }).clampedFrom).toBeUndefined();
  });

  it('clamps when even the corrected time is in the future (event after it was sent)', () => {
    const r = correctTimestamp({ timestamp: '2025-06-01T13:00:00.000Z', sentAt: '2025-06-01T12:00:00.000Z', receivedAt, maxFutureSkewMs });
    expect(r).toMatchObject({ timestamp: '2025-06-01T12:00:00.000Z', clampedFrom: '2025-06-01T13:00:00.000Z' });
  });
});

describe('metadata enrichment', () => {
  const info = { client: { ip: '198.51.100.7' }, referer: 'https://a.example/page', language: 'de' };

  it('prefers what the event says about page and language over the headers', () => {
    const m = enrichMetadata({ page_url: 'https://a.example/spa#step2', sdk: { name: 'web', version: '1.2.0' } }, info, {
      time: { timestamp: 'x' },
    });
    expect(m).toEqual({
      page_url: 'https://a.example/spa#step2',
      language: 'de',
      sdk: { name: 'web', version: '1.2.0' },
      client: { ip: '198.51.100.7' },
    });
  });

  it('does not let a client forge the keys the service sets', () => {
    const m = enrichMetadata({ client: { ip: '1.1.1.1' }, app: 'other', timestamp_clamped: false }, info, {
      app: 'shop',
      time: { timestamp: 'x', clampedFrom: 'y', clockSkewMs: 7 },
    });
    expect(m).toMatchObject({
      client: { ip: '198.51.100.7' },
      app: 'shop',
      timestamp_clamped: true,
      original_timestamp: 'y',
      clock_skew_ms: 7,
    });
    expect(enrichMetadata({ app: 'forged' }, info, { time: { timestamp: 'x' } }).app).toBeUndefined();
  });
});
