import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFieldCrypto, ENCRYPTED_PLACEHOLDER } from './field-crypto.js';
import { createKeyRing } from './key-ring.js';

const key = () => randomBytes(32).toString('base64');
const k1 = { id: 'k1', key: key() };
const k2 = { id: 'k2', key: key() };
const ringOf = (...keys: { id: string; key: string }[]) => createKeyRing({ keys });

const event = () => ({
  event_id: randomUUID(),
  data: { Email: 'Ada@Example.com', plan: 'pro', contacts: [{ phone: 5550100, name: 'Bob' }], profile: { email: ['a@x.io', 'b@x.io'] } },
  metadata: { page: '/signup', EMAIL: { nested: true } },
});

describe('field crypto', () => {
  const fields = createFieldCrypto(ringOf(k1), ['email', 'phone']);

  it('seals the configured fields at any depth, any case, and leaves the rest as it was', () => {
    const e = event();
    const sealed = fields.seal(e);
    const text = JSON.stringify(sealed);
    for (const clear of ['Ada@Example.com', '5550100', 'a@x.io', 'nested']) expect(text).not.toContain(clear);
    expect(sealed.data.plan).toBe('pro');
    expect((sealed.data.contacts as { name: string }[])[0]!.name).toBe('Bob');
    expect(sealed.data.Email).toMatch(/^encrypted:v1:/);
    expect(sealed.dataKey).toMatch(/^k1:/);
    // Scalars and the scalars of an array are hashed; an object is only sealed.
    expect(sealed.fieldHashes).toHaveLength(4);
  });

  it('opens them back to the same JSON in clear, and masks them otherwise', () => {
    const e = event();
    const first = fields.seal(e);
    const again = fields.seal(e);
    const row = { event_id: e.event_id, data: again.data, metadata: again.metadata, data_key: again.dataKey };
    expect(fields.open(row, 'clear')).toEqual({ event_id: e.event_id, data: e.data, metadata: e.metadata });
    const masked = fields.open(row, 'masked');
    expect(masked.data.Email).toBe(ENCRYPTED_PLACEHOLDER);
    expect(masked.metadata.EMAIL).toBe(ENCRYPTED_PLACEHOLDER);
    expect(masked.data.plan).toBe('pro');
    expect(first.dataKey).not.toBe(again.dataKey); // a data key per sealing
  });

  it('masks a configured field a row holds in clear (stored before it was configured)', () => {
    const e = event();
    expect(fields.open({ ...e, data_key: null }, 'masked').data.Email).toBe(ENCRYPTED_PLACEHOLDER);
    expect(fields.open({ ...e, data_key: null }, 'clear').data.Email).toBe('Ada@Example.com');
  });

  it('masks any JSON (a decoded Temporal payload, a dead letter) by the same names', () => {
    const sealed = fields.seal(event());
    const payload = [{ event_id: 'e', data: { contact: { EMAIL: 'a@b.c' }, plan: 'pro' } }, { data: sealed.data }];
    expect(fields.mask(payload)).toEqual([
      { event_id: 'e', data: { contact: { EMAIL: ENCRYPTED_PLACEHOLDER }, plan: 'pro' } },
      {
        data: {
          ...sealed.data,
          Email: ENCRYPTED_PLACEHOLDER,
          contacts: [{ phone: ENCRYPTED_PLACEHOLDER, name: 'Bob' }],
          profile: { email: ENCRYPTED_PLACEHOLDER },
        },
      },
    ]);
  });

  it('binds the data key to its event: a row copied under another id does not open', () => {
    const e = event();
    const sealed = fields.seal(e);
    expect(() =>
      fields.open({ event_id: randomUUID(), data: sealed.data, metadata: sealed.metadata, data_key: sealed.dataKey }, 'clear'),
    ).toThrow();
  });

  it('leaves a text that only looks sealed as it was sent', () => {
    const e = { event_id: randomUUID(), data: { email: 'x@y.z', note: 'encrypted:v1:AAAA' }, metadata: {} };
    const sealed = fields.seal(e);
    expect(fields.open({ ...e, ...sealed, data_key: sealed.dataKey }, 'clear').data).toEqual(e.data);
  });

  it('finds a value by keyed hash, trimmed and in any case, and only under its own field', () => {
    const sealed = fields.seal(event());
    expect(sealed.fieldHashes).toEqual(expect.arrayContaining(fields.searchHashes('EMAIL', ' ada@example.com ')));
    expect(sealed.fieldHashes).toEqual(expect.arrayContaining(fields.searchHashes('phone', '5550100')));
    expect(sealed.fieldHashes).not.toEqual(expect.arrayContaining(fields.searchHashes('phone', 'ada@example.com')));
    // Keyed: another ring hashes the same value differently.
    expect(createFieldCrypto(ringOf(k2), ['email']).searchHashes('email', 'ada@example.com')).not.toEqual(
      fields.searchHashes('email', 'ada@example.com'),
    );
  });

  it('after a rotation opens and finds rows of the old key, and reseals them under the new one', () => {
    const e = event();
    const old = fields.seal(e);
    const row = { event_id: e.event_id, data: old.data, metadata: old.metadata, data_key: old.dataKey };
    const rotated = createFieldCrypto(ringOf(k1, k2), ['email', 'phone']);
    expect(rotated.open(row, 'clear').data).toEqual(e.data);
    expect(old.fieldHashes).toEqual(
      expect.arrayContaining(rotated.searchHashes('email', 'ada@example.com').filter((h) => h.startsWith('k1:'))),
    );
    expect(rotated.needsReseal(row)).toBe(true);
    const resealed = rotated.reseal(row);
    expect(resealed.dataKey).toMatch(/^k2:/);
    const newRow = { event_id: e.event_id, data: resealed.data, metadata: resealed.metadata, data_key: resealed.dataKey };
    expect(rotated.needsReseal(newRow)).toBe(false);
    // The old key can now leave the ring.
    expect(createFieldCrypto(ringOf(k2), ['email', 'phone']).open(newRow, 'clear').data).toEqual(e.data);
    expect(() => createFieldCrypto(ringOf(k2), ['email']).open(row, 'clear')).toThrow(/key "k1", which is not in PAYLOAD_KEYS/);
  });

  it('knows a row stored in clear, or with fields configured since, needs sealing', () => {
    const e = event();
    expect(fields.needsReseal({ ...e, data_key: null })).toBe(true);
    const plain = { event_id: randomUUID(), data: { plan: 'pro' }, metadata: {} };
    expect(fields.needsReseal({ ...plain, data_key: null })).toBe(false);
    expect(fields.seal(plain)).toEqual({ data: plain.data, metadata: {}, dataKey: null, fieldHashes: null });
  });
});
