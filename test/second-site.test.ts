import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startTwoSites, type TwoSites } from '../src/dev/site/two-sites.js';
import { createLogger } from '../src/logger.js';
import { DRILL_ENV, runSiteDrill } from './site/drill.js';
import { startReceiver } from './webhook-receiver.js';

// The second site's drill, short: two sites of their own (the suite's stack is left alone), a few
// seconds of load on the first, the first killed -9 whole, the second promoted. `npm run
// drill:site` is the longer variant. Temporal is the CLI's dev server in every run of the suite:
// promotion does not depend on which Temporal a site runs, and two more servers would crowd CI.
describe('losing the first site and promoting the second', () => {
  const { dev } = loadConfig();
  const dataDir = resolve(dev.testDataDir, '..', `${dev.testDataDir.split('/').at(-1)}-second-site`);
  const log = createLogger('second-site', 'error');
  let sites: TwoSites | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    receiver = await startReceiver();
    sites = await startTwoSites({
      dataDir,
      cacheDir: dev.cacheDir,
      ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
      env: DRILL_ENV,
      log,
    });
  }, 300_000);
  afterAll(async () => {
    await sites?.stop();
    await receiver?.close();
  }, 120_000);

  it('processes what the second site mirrored, once, and loses only what the mirror had not received', async () => {
    const r = await runSiteDrill({ sites: sites!, dataDir, receiver, loadMs: 4_000, rate: 25, concurrency: 4, log });
    console.log(
      `second site drill: ${r.acked} events acknowledged at site 1, ${r.mirrored} in the mirror; ` +
        `recovery point ${r.lost.length} events lost (${r.lostWindowMs} ms of acknowledgements); ` +
        `recovery time ${r.recoveryMs} ms to promoted (promotion itself ${r.promotionMs} ms), ` +
        `then ${r.drainMs} ms to process the mirror's backlog; processed at site 1 ${r.processedAtPrimary}, ` +
        `at site 2 ${r.processedAtStandby}, at both ${r.processedAtBoth.length} (delivered by both ${r.deliveredTwice.length}); promotion ${JSON.stringify(r.figures)}`,
    );
    expect(r.acked).toBeGreaterThan(0);
    // What is lost is only what had not reached the mirror when the site went.
    expect(r.lostButMirrored).toEqual([]);
    // Nothing stored or settled twice at the promoted site; a webhook received an event twice only
    // if the first site processed it and the second site's store had not yet heard it settle.
    expect(r.duplicatesAtStandby).toEqual([]);
    expect(r.deliveredTwiceUnexplained).toEqual([]);
    // And the promoted site takes new events.
    expect(r.afterPromotion).toBe(5);
  }, 400_000);
});
