import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyRing } from '../crypto/key-ring.js';
import { fileOpener, fileSealer } from './sealed-file.js';

const key = () => randomBytes(32).toString('base64');
const ring = createKeyRing({ keys: [{ id: 'k1', key: key() }] });
const name = 'streams/EVENTS.tar.s2';

function sealChunks(chunks: Buffer[]) {
  const sealer = fileSealer(ring, name);
  const body = chunks.map((c) => sealer.update(c));
  const { tail, sealing } = sealer.final();
  return { sealed: Buffer.concat([...body, tail]), sealing };
}

describe('a sealed snapshot file', () => {
  const clear = [Buffer.from('{"event_type":"signup","email":"a@example.com"}'), randomBytes(70_000), Buffer.from('end')];

  it('holds none of its clear bytes and opens, chunk by chunk, to exactly them', () => {
    const { sealed, sealing } = sealChunks(clear);
    expect(sealed.includes(Buffer.from('example.com'))).toBe(false);
    const opener = fileOpener(ring, name, sealing);
    const opened = Buffer.concat([opener.update(sealed.subarray(0, 1000)), opener.update(sealed.subarray(1000))]);
    opener.final();
    expect(opened.equals(Buffer.concat(clear))).toBe(true);
  });

  it('is refused when a byte changed, or under another file name', () => {
    const { sealed, sealing } = sealChunks(clear);
    sealed[10] = sealed[10]! ^ 1;
    const opener = fileOpener(ring, name, sealing);
    opener.update(sealed);
    expect(() => opener.final()).toThrow(/does not open with its key/);
    expect(() => fileOpener(ring, 'streams/OTHER.tar.s2', sealing)).toThrow();
  });

  it('names the key a ring lacks', () => {
    const { sealing } = sealChunks(clear);
    const rotated = createKeyRing({ keys: [{ id: 'k2', key: key() }] });
    expect(() => fileOpener(rotated, name, sealing)).toThrow(/payload key "k1", which is not in PAYLOAD_KEYS/);
    expect(() => fileOpener(undefined, name, sealing)).toThrow(/not in PAYLOAD_KEYS/);
  });
});
