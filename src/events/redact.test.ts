import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from './redact.js';

describe('redaction', () => {
  const redact = createRedactor(['password', 'ssn', 'credit_card']);

  it('replaces sensitive fields at any depth, whatever their case', () => {
    const out = redact({
      Password: 'hunter2',
      profile: { SSN: '123-45-6789', name: 'Ada' },
      cards: [{ credit_card: '4111111111111111', last4: '1111' }],
    });
    expect(out).toEqual({
      Password: REDACTED,
      profile: { SSN: REDACTED, name: 'Ada' },
      cards: [{ credit_card: REDACTED, last4: '1111' }],
    });
  });

  it('redacts a sensitive field even when its value is an object', () => {
    expect(redact({ password: { old: 'a', new: 'b' } })).toEqual({ password: REDACTED });
  });

  it('leaves the input untouched', () => {
    const input = { password: 'x' };
    redact(input);
    expect(input.password).toBe('x');
  });
});
