import { describe, expect, it } from 'vitest';
import { siteNatsConfig } from '../dev/site/site-nats.js';
import { deadLetterSubject } from '../nats/dead-letters.js';
import { describeOrigin, mirrorStreamName, parseOrigin } from './mirror.js';

describe('the mirror of a primary site', () => {
  it('keeps its origin in its description, for promotion to read back', () => {
    const origin = { stream: 'EVENTS', domain: 'site-1', created: '2030-01-02T03:04:05.123456789Z' };
    expect(mirrorStreamName('EVENTS')).toBe('EVENTS_MIRROR');
    expect(parseOrigin(describeOrigin(origin))).toEqual(origin);
    expect(parseOrigin('a stream someone else made')).toBeUndefined();
    expect(parseOrigin(undefined)).toBeUndefined();
  });

  it("is fed over a leaf node that carries neither site's events nor dead letters", () => {
    const standby = siteNatsConfig('site2', 'site2', { primaryLeafPort: 7422 });
    const remote = (standby.leafnodes as { remotes: { url: string; deny_imports: string[]; deny_exports: string[] }[] }).remotes[0]!;
    expect(remote.url).toBe('nats-leaf://127.0.0.1:7422');
    for (const subject of ['events.>', deadLetterSubject('EVENTS').replace('EVENTS', '>')]) {
      expect(remote.deny_imports).toContain(subject);
      expect(remote.deny_exports).toContain(subject);
    }
    expect(standby.jetstream).toEqual({ domain: 'site2' });
    expect(siteNatsConfig('site1', 'site1', { listenPort: 7422 }).leafnodes).toEqual({ listen: '127.0.0.1:7422' });
  });
});
