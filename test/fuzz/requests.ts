import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

// Hostile requests for the ingestion routes, one class of trouble each. They are built as text
// (or bytes) rather than as values: a body 10,000 levels deep, a truncated one or one with a raw
// lone surrogate cannot be produced by JSON.stringify. Nothing here knows the expected answer
// beyond the few cases where the input leaves no doubt (`expect`); the runner checks the rest.

export interface HostileRequest {
  class: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** The only statuses this request may get, when the input leaves no doubt. */
  expect?: readonly number[];
}

/** The credentials of a deployment that checks them; without, the API runs open. */
export interface FuzzAuth {
  jwtSecret: string;
  writeKey: string;
}

export const BACKEND = '/api/events/create';
export const FRONTEND = '/api/frontend/events';
const MiB = 1024 * 1024;
// The service's defaults (BODY_LIMIT_BYTES, BATCH_MAX_EVENTS).
const BODY_LIMIT = MiB;
const BATCH_MAX = 500;

/** Ids that valid events sometimes carry and operator routes target: reprocess meets real events. */
export const KNOWN_IDS = [
  '0f6b9f4e-2d1c-4c0a-9a51-6f1f3c2b7a01',
  '5a0c7e1d-8b2f-4e6a-b3c4-d5e6f7a8b902',
  'c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e03',
] as const;

// ---------------------------------------------------------------------------------------------
// Credentials

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

function jwt(claims: unknown, secret: string, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

// Fixed times keep every request a pure function of the seed.
const FAR_FUTURE = 4_102_444_800; // 2100-01-01
const LONG_AGO = 1_000_000_000; // 2001-09-09
const goodClaims = { sub: 'fuzz', scope: 'events:write events:admin', exp: FAR_FUTURE };

/** What a well-behaved caller sends; nothing when the API is open. */
function goodHeaders(auth: FuzzAuth | undefined, route: string): Record<string, string> {
  if (!auth) return {};
  return route === FRONTEND ? { 'x-write-key': auth.writeKey } : { authorization: `Bearer ${jwt(goodClaims, auth.jwtSecret)}` };
}

/** What fetch lets through in a header value: no control characters but tab (it refuses the request otherwise). */
const sendable = (s: string) => [...s].filter((c) => c === '\t' || (c >= ' ' && c !== '\x7f')).join('');
/** Latin-1 text of a string's UTF-8 bytes: what a raw client puts in a header (fetch takes only bytes). */
const headerBytes = (s: string) => sendable(Buffer.from(s).toString('latin1'));

function forgedCredentials(auth: FuzzAuth | undefined): fc.Arbitrary<Record<string, string>> {
  const secret = auth?.jwtSecret ?? 'not-the-deployment-secret-0123456789abcdef';
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const [h, p] = jwt(goodClaims, secret).split('.') as [string, string, string];
  const tokens = fc.oneof(
    fc.constant(jwt(goodClaims, `${secret}x`)), // wrong secret
    fc.constant(`${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`), // alg none
    fc.constant(jwt({ ...goodClaims, exp: LONG_AGO }, secret)), // expired
    fc.constant(jwt({ ...goodClaims, nbf: FAR_FUTURE - 1 }, secret)), // not yet valid
    fc.constant(jwt({ ...goodClaims, scope: 'events:read' }, secret)), // signed, wrong scope (403)
    fc.constant(jwt(goodClaims, secret, { alg: 'RS256', typ: 'JWT' })), // algorithm confusion
    fc.constant(jwt(goodClaims, 'attacker', { alg: 'HS256', kid: '../../../../dev/null', jku: 'http://127.0.0.1:1/jwks' })), // points at a key of its own
    fc.constant(`${h}.${b64url(JSON.stringify({ ...goodClaims, sub: 'admin' }))}.${jwt(goodClaims, secret).split('.')[2]}`), // tampered payload
    fc
      .constantFrom('[]', 'null', '"x"', '42', '{"scope":{"a":1},"exp":"never","sub":[1]}')
      .map((claims) => jwt(JSON.parse(claims), secret)),
    fc
      .tuple(fc.base64String({ maxLength: 60 }), fc.base64String({ maxLength: 60 }), fc.base64String({ maxLength: 60 }))
      .map((parts) => parts.join('.')),
    fc.string({ unit: 'binary-ascii', maxLength: 80 }).map(sendable),
  );
  return fc.oneof(
    tokens.map(bearer),
    fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        'bearer  a.b.c',
        'Basic dXNlcjpwYXNz',
        'Bearer a.b',
        'Bearer ....',
        'Token abc',
        'Bearer a.b.c d',
        'Digest username="x"',
      )
      .map((authorization) => ({ authorization })),
    fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => ({ authorization: `Bearer ${headerBytes(s)}` })),
    fc.integer({ min: 8_000, max: 15_000 }).map((n) => bearer('a'.repeat(n))), // long, but under Node's 16 KiB header limit
    fc.integer({ min: 17_000, max: 64_000 }).map((n) => bearer('a'.repeat(n))), // over it
    fc.constantFrom('', 'pk_', 'pk_live_000', `${auth?.writeKey ?? 'pk_x'}x`, ' ', 'null').map((key) => ({ 'x-write-key': key })),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => ({ 'x-write-key': headerBytes(s) })),
    fc.tuple(tokens, fc.constantFrom('', 'pk_forged')).map(([token, key]) => ({ ...bearer(token), 'x-write-key': key })),
  );
}

// ---------------------------------------------------------------------------------------------
// Valid events

const token = fc.stringMatching(/^[a-z0-9_]{1,40}$/);
const fieldName = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/);
const noPoison = (v: unknown) => !/__proto__|constructor|prototype/.test(JSON.stringify(v));
const data = fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6, noNullPrototype: true }).filter(noPoison);
const shortText = fc.string({ minLength: 1, maxLength: 40 });
const isoTime = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const eventId = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 6 },
  { arbitrary: fc.uuid({ version: [4, 7] }), weight: 3 },
  { arbitrary: fc.constantFrom(...KNOWN_IDS), weight: 1 },
);

type Json = Record<string, unknown>;
const defined = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const backendEvent: fc.Arbitrary<Json> = fc
  .record({
    event_id: eventId,
    event_type: token,
    service: fc.option(token, { nil: undefined }),
    data: fc.option(data, { nil: undefined }),
    metadata: fc.option(data, { nil: undefined }),
    user_id: fc.option(shortText, { nil: undefined }),
    session_id: fc.option(shortText, { nil: undefined }),
    correlation_id: fc.option(shortText, { nil: undefined }),
    timestamp: fc.option(isoTime, { nil: undefined }),
  })
  .map(defined);

const frontendEvent: fc.Arbitrary<Json> = fc
  .record({
    event_id: eventId,
    event_type: token,
    category: fc.constantFrom('user_interaction', 'business_action', 'system_event'),
    data: fc.option(data, { nil: undefined }),
    metadata: fc.option(
      fc.record(
        { page_url: fc.webUrl(), language: fc.constantFrom('en', 'fr-CA', 'ar'), sdk: fc.constant({ name: 'fuzz', version: '1.0.0' }) },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    user_id: fc.option(shortText, { nil: undefined }),
    timestamp: fc.option(isoTime, { nil: undefined }),
    sent_at: fc.option(isoTime, { nil: undefined }),
  })
  .map(defined);

const eventFor = (route: string) => (route === BACKEND ? backendEvent : frontendEvent);
const route = fc.constantFrom(BACKEND, FRONTEND);
/** A route with a valid event for it. */
const routed = route.chain((r) => eventFor(r).map((event) => ({ route: r, event })));

/** Browser-ish headers the frontend route reads for enrichment; X-Forwarded-For is forged. */
const clientHeaders = fc.record(
  {
    'user-agent': fc.constantFrom(
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15',
      'curl/8.0',
      '',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0',
    ),
    referer: fc.webUrl(),
    'accept-language': fc.constantFrom('en-US,en;q=0.9', 'ar-EG', '*', 'x'.repeat(200)),
    'x-forwarded-for': fc.constantFrom('1.2.3.4', '::1, 10.0.0.1', 'not an ip', '999.999.999.999'),
  },
  { requiredKeys: [] },
);

/** `open` + padding + `close`, exactly `size` bytes. */
const padded = (open: string, size: number, close: string) =>
  open + 'p'.repeat(size - Buffer.byteLength(open) - Buffer.byteLength(close)) + close;

function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Omit<HostileRequest, 'class'> {
  return { method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body };
}

// ---------------------------------------------------------------------------------------------
// Placing a raw JSON fragment somewhere in an otherwise valid event

const SLOTS = [
  'root',
  'event_type',
  'category',
  'service',
  'event_id',
  'user_id',
  'timestamp',
  'sent_at',
  'data',
  'data.value',
  'data.key',
  'metadata',
  'metadata.value',
  'metadata.page_url',
  'metadata.sdk',
  'unknown_field',
  'write_key',
  'batch_item',
  'batch_item.data',
  'batch_events',
] as const;
type Slot = (typeof SLOTS)[number];
const slot = fc.constantFrom(...SLOTS);

/** The event's JSON with `key` set to the raw fragment (which need not be valid JSON). */
function withRaw(event: Json, key: string, raw: string): string {
  const rest = { ...event };
  delete rest[key];
  const head = JSON.stringify(rest).slice(0, -1);
  return `${head}${head.length > 1 ? ',' : ''}${JSON.stringify(key)}:${raw}}`;
}

/** A string used as a key needs the fragment to be a JSON string; anything else lands as a value. */
function embed(event: Json, where: Slot, raw: string): string {
  switch (where) {
    case 'root':
      return raw;
    case 'data.value':
      return withRaw(event, 'data', `{"v":${raw}}`);
    case 'data.key':
      return withRaw(event, 'data', raw.startsWith('"') ? `{${raw}:1}` : `{"v":${raw}}`);
    case 'metadata.value':
      return withRaw(event, 'metadata', `{"v":${raw}}`);
    case 'metadata.page_url':
      return withRaw(event, 'metadata', `{"page_url":${raw}}`);
    case 'metadata.sdk':
      return withRaw(event, 'metadata', `{"sdk":{"name":${raw},"version":"1"}}`);
    case 'unknown_field':
      return withRaw(event, 'x_unknown', raw);
    case 'batch_item':
      return `{"events":[${JSON.stringify(event)},${raw}]}`;
    case 'batch_item.data':
      return `{"events":[${withRaw(event, 'data', `{"v":${raw}}`)}]}`;
    case 'batch_events':
      return `{"events":${raw}}`;
    default:
      return withRaw(event, where, raw);
  }
}

/** A raw fragment placed in a valid event of a random route. */
function placed(cls: string, fragment: fc.Arbitrary<string>, auth: FuzzAuth | undefined): fc.Arbitrary<HostileRequest> {
  return fc
    .tuple(routed, slot, fragment)
    .map(([{ route: r, event }, where, raw]) => ({ class: cls, ...post(r, embed(event, where, raw), goodHeaders(auth, r)) }));
}

// ---------------------------------------------------------------------------------------------
// The classes

function valid(auth: FuzzAuth | undefined): fc.Arbitrary<HostileRequest> {
  const single = fc
    .tuple(routed, clientHeaders)
    .map(([{ route: r, event }, h]) => post(r, JSON.stringify(event), { ...h, ...goodHeaders(auth, r) }));
  const batch = fc
    .tuple(fc.array(frontendEvent, { minLength: 1, maxLength: 20 }), clientHeaders)
    .map(([events, h]) => post(FRONTEND, JSON.stringify({ events }), { ...h, ...goodHeaders(auth, FRONTEND) }));
  // navigator.sendBeacon: text/plain, the write key in the body.
  const beacon = fc
    .oneof(
      frontendEvent,
      fc.array(frontendEvent, { minLength: 1, maxLength: 5 }).map((events) => ({ events })),
    )
    .map((body) =>
      post(FRONTEND, JSON.stringify(auth ? { ...body, write_key: auth.writeKey } : body), { 'content-type': 'text/plain;charset=UTF-8' }),
    );
  return fc.oneof(single, batch, beacon).map((r) => ({ class: 'valid', ...r, expect: [202] }));
}

const GARBAGE = [
  '',
  ' ',
  '\n\t',
  '{',
  '}',
  '[',
  '{"event_type":}',
  '{event_type:"x"}',
  "{'event_type':'x'}",
  '{"event_type":"x",}',
  '[1,2,]',
  'NaN',
  'Infinity',
  '-Infinity',
  'undefined',
  'null null',
  '{"a":01}',
  '{"a":0x10}',
  '{"a":.5}',
  '{"a":1.}',
  '{"a":+1}',
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":"\\uZZZZ"}',
  '{"a":"tab\there"}',
  '{"a":"nl\nhere"}',
  '/* c */{"event_type":"x"}',
  '{"event_type":"x"} // c',
  '{}{}',
  '{"event_type":"x"}garbage',
  '"just a string"',
  '<event><event_type>x</event_type></event>',
  'event_type=x&category=y',
  '{"a":tru}',
  '{"a":nul}',
  '{"a" 1}',
  '{"a"::1}',
  '{,}',
  '{"events":[,]}',
  '\uFEFF{"event_type":"bom_first","category":"system_event"}',
  '{"event_type":"dup","event_type":"dup_again","category":"system_event"}',
];

const malformedJson = (auth: FuzzAuth | undefined) =>
  fc
    .tuple(
      route,
      fc.oneof(
        { arbitrary: fc.constantFrom(...GARBAGE), weight: 4 },
        { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 200 }), weight: 1 },
        { arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), weight: 1 },
        {
          arbitrary: fc
            .tuple(routed, fc.constantFrom('"', '\\', '{', ']', ':', ',', '\u0000'))
            .map(([{ event }, c]) => JSON.stringify(event).replace(':', `:${c}`)),
          weight: 1,
        },
      ),
    )
    .map(([r, body]): HostileRequest => ({ class: 'malformed_json', ...post(r, body, goodHeaders(auth, r)) }));

/** A valid body cut short, sometimes inside a multi-byte character. */
const truncatedJson = (auth: FuzzAuth | undefined) =>
  fc
    .tuple(
      fc.oneof(
        routed.map(({ route: r, event }) => ({ r, text: JSON.stringify({ ...event, data: { note: 'naïve café 🔥 עברית' } }) })),
        fc.array(frontendEvent, { minLength: 1, maxLength: 10 }).map((events) => ({ r: FRONTEND, text: JSON.stringify({ events }) })),
      ),
      fc.double({ min: 0, max: 1, noNaN: true }),
    )
    .map(([{ r, text }, at]): HostileRequest => {
      const bytes = Buffer.from(text);
      return {
        class: 'truncated_json',
        ...post(r, bytes.subarray(0, Math.min(bytes.length - 1, Math.floor(at * bytes.length))), goodHeaders(auth, r)),
      };
    });

function nested(depth: number, shape: 'array' | 'object' | 'mixed', closed: boolean): string {
  const open = shape === 'array' ? '['.repeat(depth) : shape === 'object' ? '{"a":'.repeat(depth) : '[{"a":'.repeat(Math.ceil(depth / 2));
  const close = shape === 'array' ? ']'.repeat(depth) : shape === 'object' ? '}'.repeat(depth) : '}]'.repeat(Math.ceil(depth / 2));
  return `${open}0${closed ? close : ''}`;
}

const deepNesting = (auth: FuzzAuth | undefined) =>
  placed(
    'deep_nesting',
    fc
      .tuple(
        fc.oneof(fc.constantFrom(62, 63, 64, 65, 66, 100, 1_000, 10_000, 10_000, 100_000), fc.integer({ min: 1, max: 10_000 })),
        fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>,
        fc.integer({ min: 0, max: 9 }),
      )
      // One in ten is never closed.
      .map(([depth, shape, cut]) => nested(depth, shape, cut !== 0)),
    auth,
  );

/** Sizes in bytes of the string as sent (an escape such as \\u0000 counts its six). */
const hugeLength = fc.oneof(
  { arbitrary: fc.integer({ min: 10_000, max: 900_000 }), weight: 6 },
  { arbitrary: fc.constantFrom(BODY_LIMIT - 200, BODY_LIMIT - 64, BODY_LIMIT, BODY_LIMIT + 1), weight: 2 },
  { arbitrary: fc.integer({ min: BODY_LIMIT + 1, max: 3 * MiB }), weight: 2 },
  { arbitrary: fc.constant(8 * MiB), weight: 1 },
);

const hugeString = (auth: FuzzAuth | undefined) =>
  fc
    .tuple(routed, slot, hugeLength, fc.constantFrom('a', '🔥', 'é', '\\u0000', '\\"', '\\ud800', ' ', '\\n'))
    .map(([{ route: r, event }, where, bytes, unit]): HostileRequest => {
      const s = unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)));
      const body = embed(event, where, `"${s}"`);
      return {
        class: 'huge_string',
        ...post(r, body, goodHeaders(auth, r)),
        ...(Buffer.byteLength(body) > BODY_LIMIT && { expect: [413] }),
      };
    });

const hugeArray = (auth: FuzzAuth | undefined) =>
  fc
    .tuple(
      routed,
      slot,
      fc.oneof(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom(BATCH_MAX, BATCH_MAX + 1, 600_000)),
      fc.constantFrom('0', '{}', 'null', '"x"', '[]', '1e308'),
    )
    .map(([{ route: r, event }, where, n, item]): HostileRequest => {
      const body = embed(event, where, `[${Array(n).fill(item).join(',')}]`);
      return {
        class: 'huge_array',
        ...post(r, body, goodHeaders(auth, r)),
        ...(Buffer.byteLength(body) > BODY_LIMIT && { expect: [413] }),
      };
    });

const ODD_TEXT = [
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'x\uDBFFy',
  '\uDC00\uD800',
  '\u202Eevil\u202C',
  '\u200F\u05E9\u05DC\u05D5\u05DD',
  'مرحبا',
  '\u200B',
  '\u200D',
  '\uFEFF',
  '\uFFFE',
  '\uFFFF',
  '\u{10FFFF}',
  '\u2028\u2029',
  '🔥',
  '👨‍👩‍👧‍👦',
  '🇺🇳',
  '🏳️‍🌈',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  'ſ',
  'K',
  'ı',
  'İ',
  'ＡＢＣ',
  '\u0085',
  '\u001B[31mred',
  '\\',
  '"',
  '\u007F',
  '%00',
  '%uD800',
  'e\u0301',
  'ß'.repeat(60),
  '🔥'.repeat(50),
  '🔥'.repeat(51),
  '\u0000'.repeat(3),
];
/** Bytes that are not UTF-8: overlong NUL, a CESU-8 surrogate, stray continuation bytes, a cut sequence. */
const BAD_UTF8 = [
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xff],
  [0xfe, 0xff],
  [0x80, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];
const MARK = 'FUZZ_RAW_BYTES_GO_HERE';

const oddUnicode = (auth: FuzzAuth | undefined) => {
  const text = fc.oneof(
    { arbitrary: fc.constantFrom(...ODD_TEXT), weight: 4 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), weight: 2 },
    {
      arbitrary: fc.string({
        unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
        minLength: 1,
        maxLength: 4,
      }),
      weight: 1,
    },
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), weight: 1 },
  );
  const inJson = fc
    .tuple(routed, slot, text, clientHeaders)
    .map(([{ route: r, event }, where, s, h]) => post(r, embed(event, where, JSON.stringify(s)), { ...h, ...goodHeaders(auth, r) }));
  // Raw bytes inside a JSON string: the body itself is not UTF-8.
  const rawBytes = fc.tuple(routed, slot, fc.constantFrom(...BAD_UTF8)).map(([{ route: r, event }, where, bytes]) => {
    const [before, after] = embed(event, where, JSON.stringify(MARK)).split(MARK) as [string, string];
    return post(r, Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]), goodHeaders(auth, r));
  });
  // The same event in another encoding, said or unsaid.
  const encoded = fc
    .tuple(
      routed,
      fc.constantFrom<[BufferEncoding, string, string]>(
        ['utf16le', '\uFEFF', 'utf-16'],
        ['utf16le', '', 'utf-16le'],
        ['latin1', '', 'iso-8859-1'],
        ['utf8', '\uFEFF', 'utf-8'],
      ),
    )
    .map(([{ route: r, event }, [encoding, bom, charset]]) =>
      post(r, Buffer.from(bom + JSON.stringify({ ...event, user_id: 'Zoë Ørsted' }), encoding), {
        ...goodHeaders(auth, r),
        'content-type': `application/json; charset=${charset}`,
      }),
    );
  // Emoji and RTL in headers the frontend route stores (user agent, referer, language).
  const headers = fc.tuple(frontendEvent, text).map(([event, s]) =>
    post(FRONTEND, JSON.stringify(event), {
      'user-agent': headerBytes(s),
      referer: `https://ex.example/${headerBytes(s)}`,
      'accept-language': headerBytes(s),
      ...goodHeaders(auth, FRONTEND),
    }),
  );
  return fc
    .oneof(
      { arbitrary: inJson, weight: 6 },
      { arbitrary: rawBytes, weight: 2 },
      { arbitrary: encoded, weight: 1 },
      { arbitrary: headers, weight: 1 },
    )
    .map((r): HostileRequest => ({ class: 'odd_unicode', ...r }));
};

const ODD_NUMBERS = [
  '1e309',
  '-1e309',
  '1e999999999',
  '1.7976931348623157e308',
  '-1.7976931348623157e308',
  '5e-324',
  '1e-400',
  '-0',
  '0e0',
  '9007199254740993',
  '123456789012345678901234567890123456789',
  '-9223372036854775809',
  '18446744073709551616',
  `1${'0'.repeat(400)}`,
  `0.${'0'.repeat(400)}1`,
  '1E+2',
  '4.9e-325',
];
const ODD_TIMES = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59-14:00',
  '0001-01-01T00:00:00+14:00',
  '1969-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '2024-02-30T00:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T23:59:60Z',
  '2024-01-01T00:00:00.123456789Z',
  '2024-01-01T00:00:00+23:59',
  '2024-01-01T00:00:00-00:00',
  '2024-01-01T00:00:00+99:99',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20T00:00:00Z',
  '2024-01-01',
  '2024-01-01T00:00:00',
  '1704067200',
  '',
];

const outOfRange = (auth: FuzzAuth | undefined) => {
  const numbers = placed(
    'out_of_range_number',
    fc.oneof(
      fc.constantFrom(...ODD_NUMBERS),
      fc.double().map((d) => (Number.isFinite(d) ? String(d) : '1e400')),
    ),
    auth,
  );
  // Times at the edges of what JavaScript and PostgreSQL can hold, alone or skewed against each other.
  const times = fc
    .tuple(routed, fc.constantFrom(...ODD_TIMES), fc.option(fc.constantFrom(...ODD_TIMES), { nil: undefined }))
    .map(([{ route: r, event }, timestamp, sentAt]): HostileRequest => {
      const body = { ...event, timestamp, ...(r === FRONTEND && sentAt !== undefined && { sent_at: sentAt }) };
      return { class: 'out_of_range_number', ...post(r, JSON.stringify(body), goodHeaders(auth, r)) };
    });
  return fc.oneof(numbers, times);
};

const wrongTypes = (auth: FuzzAuth | undefined) =>
  placed(
    'wrong_types',
    fc.oneof(
      fc.constantFrom(
        'null',
        'true',
        'false',
        '0',
        '-1',
        '""',
        '[]',
        '{}',
        '[null]',
        '{"$ne":1}',
        '["a","b"]',
        '{"events":[]}',
        '"[object Object]"',
      ),
      fc
        .jsonValue({ maxDepth: 3 })
        .filter(noPoison)
        .map((v) => JSON.stringify(v)),
    ),
    auth,
  );

/** Prototype pollution: Fastify's JSON parser refuses __proto__ and constructor.prototype outright. */
const prototypeKeys = (auth: FuzzAuth | undefined) =>
  placed(
    'prototype_keys',
    fc.constantFrom(
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"\\u005f_proto__":{"x":1}}',
      '"__proto__"',
      '{"toString":1,"valueOf":null,"hasOwnProperty":"x","__defineGetter__":[]}',
      '{"constructor":"x"}',
      '{"prototype":{}}',
    ),
    auth,
  );

const INJECTIONS = [
  'a.b',
  'a*',
  '*',
  '>',
  'a.>',
  'events.>',
  '$JS.API.>',
  '_INBOX.x',
  'a..b',
  '.',
  '',
  ' a',
  'a b',
  'a\tb',
  'A',
  'ａ',
  'a\u0000b',
  'a\nb',
  'x\r\nPUB events.backend.service.evil 1\r\n',
  'Ä',
  'ı',
  'K',
  'a/b',
  '../b',
  '%2e',
  'a%2Eb',
  '\u2024',
  'a\u200Bb',
  'x'.repeat(101),
  'user_created.*',
];

const subjectInjection = (auth: FuzzAuth | undefined) =>
  fc
    .tuple(
      routed,
      fc.constantFrom('event_type', 'category', 'service'),
      fc.oneof(
        fc.constantFrom(...INJECTIONS),
        fc.string({ unit: 'binary-ascii', maxLength: 20 }).filter((s) => !/^[a-z0-9_]{1,100}$/.test(s)),
      ),
      fc.boolean(),
    )
    .map(([{ route: r, event }, field, value, inBatch]): HostileRequest => {
      const hostile = { ...event, [field]: value };
      // In a batch the bad event is rejected and a good one goes on: its subject must still be clean.
      const body = inBatch && r === FRONTEND ? { events: [hostile, event] } : hostile;
      return {
        class: 'subject_injection',
        ...post(r, JSON.stringify(body), { ...goodHeaders(auth, r), 'nats-msg-id': headerBytes(value) }),
      };
    });

const batchLimits = (auth: FuzzAuth | undefined) => {
  const headers = goodHeaders(auth, FRONTEND);
  const events = (n: number, make: (i: number) => Json) => JSON.stringify({ events: Array.from({ length: n }, (_, i) => make(i)) });
  const small =
    (tag: string) =>
    (i: number): Json => ({ event_type: `batch_${tag}`, category: 'system_event', data: { i } });
  /** A batch whose last event's data is padded so that the whole body is exactly `size` bytes. */
  const paddedTo = (size: number, count: number) => {
    const head = events(count - 1, small('padded')).slice(0, -2);
    return padded(`${head}${count > 1 ? ',' : ''}{"event_type":"batch_padded","category":"system_event","data":{"pad":"`, size, '"}}]}');
  };
  const variants: fc.Arbitrary<Omit<HostileRequest, 'class'>>[] = [
    fc.constant({ ...post(FRONTEND, events(BATCH_MAX + 1, small('over')), headers), expect: [413] }),
    fc.integer({ min: BATCH_MAX + 2, max: 5_000 }).map((n) => ({
      ...post(
        FRONTEND,
        events(n, () => ({})),
        headers,
      ),
      expect: [413],
    })),
    fc.constant({ ...post(FRONTEND, `{"events":[${Array(100_000).fill('0').join(',')}]}`, headers), expect: [413] }),
    fc.constant({
      ...post(
        FRONTEND,
        events(BATCH_MAX, () => ({ event_type: 'Bad.Type', category: 'nope' })),
        headers,
      ),
      expect: [400],
    }),
    fc.constant({
      ...post(
        FRONTEND,
        events(BATCH_MAX, (i) => (i === BATCH_MAX - 1 ? small('last_valid')(i) : { nope: i })),
        headers,
      ),
      expect: [202],
    }),
    fc.uuid({ version: 4 }).map((id) => ({
      ...post(
        FRONTEND,
        events(BATCH_MAX, (i) => ({ ...small('same_id')(i), event_id: id })),
        headers,
      ),
      expect: [202],
    })),
    fc.constant({ ...post(FRONTEND, '{"events":[]}', headers), expect: [400] }),
    fc.constant(post(FRONTEND, `{"events":{"events":[${JSON.stringify(small('x')(0))}]}}`, headers)),
    fc.constant(post(FRONTEND, `{"events":[${JSON.stringify(small('x')(0))}],"extra":1}`, headers)),
    fc
      .constantFrom(BODY_LIMIT + 1, BODY_LIMIT + 4096, 2 * BODY_LIMIT)
      .map((size) => ({ ...post(FRONTEND, paddedTo(size, 3), headers), expect: [413] })),
    // At the body limit exactly, one event carries almost all of it: once enriched it is larger
    // than NATS takes in one message, which must be a 4xx, never a 503.
    fc.constantFrom(BODY_LIMIT, BODY_LIMIT - 1).map((size) => post(FRONTEND, paddedTo(size, 1), headers)),
    fc.constantFrom(BODY_LIMIT, BODY_LIMIT - 100).map((size) => post(FRONTEND, paddedTo(size, 3), headers)),
    fc
      .constantFrom(BODY_LIMIT, BODY_LIMIT - 1)
      .map((size) => post(BACKEND, padded('{"event_type":"at_limit","data":{"pad":"', size, '"}}'), goodHeaders(auth, BACKEND))),
  ];
  // Exactly the limit of distinct valid events, 2 KB each: 500 workflows, so it is rare.
  const full = fc.constant({
    ...post(
      FRONTEND,
      events(BATCH_MAX, (i) => ({ ...small('full')(i), data: { i, pad: 'f'.repeat(2_000) } })),
      headers,
    ),
    expect: [202],
  });
  return fc
    .oneof({ arbitrary: fc.oneof(...variants), weight: 49 }, { arbitrary: full, weight: 1 })
    .map((r): HostileRequest => ({ class: 'batch_limits', ...r }));
};

const forgedAuth = (auth: FuzzAuth | undefined) =>
  fc
    .tuple(
      routed,
      forgedCredentials(auth),
      fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom<unknown>(42, null, ['pk'], { key: 'pk' })), { nil: undefined }),
    )
    .map(([{ route: r, event }, headers, bodyKey]): HostileRequest => {
      const body = bodyKey !== undefined && r === FRONTEND ? { ...event, write_key: bodyKey } : event;
      // Open, credentials are not looked at; checked, none of these may pass. Headers over Node's
      // limit are refused before the API sees them.
      const tooLarge = (headers.authorization?.length ?? 0) > 16 * 1024;
      const expect = tooLarge ? [431] : auth ? [401, 403] : [202];
      return { class: 'forged_auth', ...post(r, JSON.stringify(body), headers), expect };
    });

const CONTENT_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'text/html',
  'application/octet-stream',
  'application/vnd.api+json',
  'application/json-patch+json',
  'APPLICATION/JSON',
  'application/json;;;',
  ' application/json ',
  'application/json; charset=utf-32',
  'application/json; charset=nope',
  'application/json, text/plain',
  'application',
  '*/*',
  'json',
  'a/b/c',
  '',
];

const oddContentType = (auth: FuzzAuth | undefined) =>
  fc
    .tuple(
      routed,
      fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.constant(undefined)),
      fc.constantFrom('json', 'form', 'multipart', 'gzip', 'empty'),
    )
    .map(([{ route: r, event }, type, shape]): HostileRequest => {
      const json = JSON.stringify(event);
      const bodies = {
        json,
        form: new URLSearchParams(
          Object.entries(event).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
        ).toString(),
        multipart: `--xyz\r\nContent-Disposition: form-data; name="event"\r\n\r\n${json}\r\n--xyz--\r\n`,
        gzip: gzipSync(json),
        empty: '',
      };
      const headers: Record<string, string> = {
        ...goodHeaders(auth, r),
        ...(type !== undefined && { 'content-type': type }),
        ...(shape === 'gzip' && { 'content-encoding': 'gzip' }),
      };
      return { class: 'odd_content_type', method: 'POST', path: r, headers, body: bodies[shape as keyof typeof bodies] };
    });

const ODD_IDS = [
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF',
  '{0f6b9f4e-2d1c-4c0a-9a51-6f1f3c2b7a01}',
  'urn:uuid:0f6b9f4e-2d1c-4c0a-9a51-6f1f3c2b7a01',
  '0f6b9f4e2d1c4c0a9a516f1f3c2b7a01',
  'not-a-uuid',
  '%00',
  '%2e%2e',
  '..',
  '%2F',
  '%252F',
  '%E0%A4%A',
  '%',
  '%ZZ',
  encodeURIComponent('🔥'),
  encodeURIComponent('\u202E'),
  '0f6b9f4e-2d1c-4c0a-9a51-6f1f3c2b7a01%00',
  'status',
  'failed',
  'stuck',
  'reprocess',
  ' ',
  '%20',
  'a'.repeat(1_000),
  'a'.repeat(10_000),
  '1',
  '-1',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '$where',
  "1' OR '1'='1",
  '*',
  '>',
];

const oddId = (auth: FuzzAuth | undefined) => {
  const admin: Record<string, string> = auth ? { authorization: `Bearer ${jwt(goodClaims, auth.jwtSecret)}` } : {};
  const id = fc.oneof(
    fc.constantFrom(...ODD_IDS),
    fc.uuid(),
    fc.constantFrom(...KNOWN_IDS),
    fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
  );
  const suffix = fc.constantFrom('', '/status', '/', '/status/', '?x=1&x=2', '?__proto__[polluted]=1', '//status', '/status?page_size=-1');
  const get = fc
    .tuple(id, suffix)
    .map(([i, s]): Omit<HostileRequest, 'class'> => ({ method: 'GET', path: `/api/events/${i}${s}`, headers: admin, body: '' }));
  const reasons = fc.constantFrom<[string | undefined, string]>(
    [undefined, ''],
    ['application/json', ''],
    ['application/json', '{}'],
    ['application/json', 'null'],
    ['application/json', '[]'],
    ['application/json', '{"reason":"fuzz"}'],
    ['application/json', `{"reason":"${'r'.repeat(501)}"}`],
    ['application/json', '{"reason":5}'],
    ['application/json', '{"reason":"x","extra":1}'],
    ['text/plain', '{"reason":"beacon"}'],
    ['application/json', '{"reason":"\\u0000"}'],
  );
  const operator = fc
    .tuple(id, fc.constantFrom('reprocess', 'discard'), reasons)
    .map(([i, action, [type, body]]): Omit<HostileRequest, 'class'> => ({
      method: 'POST',
      path: `/api/events/${i}/${action}`,
      headers: { ...admin, ...(type && { 'content-type': type }) },
      body,
    }));
  const otherMethods = fc
    .tuple(
      fc.constantFrom('PUT', 'DELETE', 'PATCH') as fc.Arbitrary<'PUT' | 'DELETE' | 'PATCH'>,
      fc.constantFrom(BACKEND, FRONTEND, `/api/events/${KNOWN_IDS[0]}`),
    )
    .map(([method, path]): Omit<HostileRequest, 'class'> => ({
      method,
      path,
      headers: { ...admin, 'content-type': 'application/json' },
      body: '{}',
    }));
  const oddPaths = fc
    .constantFrom(
      '/api/events/create/',
      '/api/events/create?event_type=x',
      '/API/EVENTS/CREATE',
      '/api/events/create%00',
      '/api/frontend/events/..%2f..%2fhealth',
      '/api/frontend//events',
      '/api/events/create#frag',
    )
    .map((path): Omit<HostileRequest, 'class'> => post(path, '{"event_type":"odd_path"}', goodHeaders(auth, BACKEND)));
  return fc
    .oneof(
      { arbitrary: get, weight: 4 },
      { arbitrary: operator, weight: 4 },
      { arbitrary: otherMethods, weight: 1 },
      { arbitrary: oddPaths, weight: 1 },
    )
    .map((r): HostileRequest => ({ class: 'odd_id', ...r }));
};

// ---------------------------------------------------------------------------------------------

/** Every class with its share of the requests. */
export function hostileRequest(auth?: FuzzAuth): fc.Arbitrary<HostileRequest> {
  return fc.oneof(
    { arbitrary: valid(auth), weight: 10 },
    { arbitrary: malformedJson(auth), weight: 8 },
    { arbitrary: truncatedJson(auth), weight: 7 },
    { arbitrary: deepNesting(auth), weight: 6 },
    { arbitrary: hugeString(auth), weight: 5 },
    { arbitrary: hugeArray(auth), weight: 5 },
    { arbitrary: oddUnicode(auth), weight: 9 },
    { arbitrary: outOfRange(auth), weight: 7 },
    { arbitrary: wrongTypes(auth), weight: 8 },
    { arbitrary: prototypeKeys(auth), weight: 3 },
    { arbitrary: subjectInjection(auth), weight: 8 },
    { arbitrary: batchLimits(auth), weight: 5 },
    { arbitrary: forgedAuth(auth), weight: 6 },
    { arbitrary: oddContentType(auth), weight: 6 },
    { arbitrary: oddId(auth), weight: 7 },
  );
}

/** Requests are made this many at a time, so that a run never holds all its large bodies at once. */
const CHUNK = 100;
const chunkSeed = (seed: number, chunk: number) => (seed + Math.imul(chunk, 0x9e3779b1)) | 0;

/** The `count` requests of a seed, in order; request i is the same for a given seed whatever the count. */
export function* hostileRequests(opts: { seed: number; count: number; auth?: FuzzAuth }): Generator<HostileRequest> {
  const arb = hostileRequest(opts.auth);
  for (let chunk = 0; chunk * CHUNK < opts.count; chunk++) {
    const n = Math.min(CHUNK, opts.count - chunk * CHUNK);
    yield* fc.sample(arb, { seed: chunkSeed(opts.seed, chunk), numRuns: CHUNK }).slice(0, n);
  }
}
