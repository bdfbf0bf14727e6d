import { jetstreamManager } from '@nats-io/jetstream';
import { loadConfig, required } from '../config.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { runCli } from '../read-side/cli.js';
import { ensureMirror, mirrorState } from './mirror.js';

// npm run site:standby — on the standby site (NATS_URL its own NATS, SITE_PRIMARY_DOMAIN the
// primary's JetStream domain): makes the mirror of the primary's events stream, then says how far
// it is. Run it again at any time to see the mirror's state.
runCli(async () => {
  const config = loadConfig();
  const log = createLogger('site-standby', config.logLevel);
  const domain = config.site.primaryDomain;
  if (!domain)
    throw new Error("SITE_PRIMARY_DOMAIN is not set: the primary site's JetStream domain, whose events stream this site mirrors");
  const nc = await connectNats(required(config.natsUrl, 'NATS_URL'), 'event-service-site-standby', log, config.natsTls);
  try {
    const { created } = await ensureMirror(nc, config.stream, domain);
    return { created, ...(await mirrorState(await jetstreamManager(nc), config.stream.name)) };
  } finally {
    await nc.close();
  }
});
