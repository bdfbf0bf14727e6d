import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// Each site's nats-server gets a config file (in the server's own format; JSON is a subset of it)
// beside the flags the dev stack passes: its JetStream domain, and the leaf node joining the two
// sites. The primary listens for leaf connections, the standby dials it. With real hosts in place
// of 127.0.0.1 the same two files describe two regions.

/**
 * Subjects that stay within a site. Without this, the primary's `events.>` publishes would reach
 * the standby's events stream once it has one (promotion makes it), and be stored at both sites.
 * The mirror needs none of them: it pulls through `$JS.<domain>.API` and its own delivery subject.
 */
export const SITE_LOCAL_SUBJECTS = ['events.>', 'deadletter.>'];

export type SiteLeaf = { listenPort: number } | { primaryLeafPort: number };

export function siteNatsConfig(name: string, domain: string, leaf: SiteLeaf) {
  return {
    server_name: name,
    jetstream: { domain },
    leafnodes:
      'listenPort' in leaf
        ? { listen: `127.0.0.1:${leaf.listenPort}` }
        : {
            remotes: [
              {
                url: `nats-leaf://127.0.0.1:${leaf.primaryLeafPort}`,
                deny_imports: SITE_LOCAL_SUBJECTS,
                deny_exports: SITE_LOCAL_SUBJECTS,
              },
            ],
          },
  };
}

/** Writes the site's config under <dataDir>/nats-site.conf; returns the flags that load it. */
export async function siteNatsArgs(dataDir: string, name: string, domain: string, leaf: SiteLeaf): Promise<string[]> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, 'nats-site.conf');
  await writeFile(file, JSON.stringify(siteNatsConfig(name, domain, leaf), null, 2));
  return ['-c', file];
}
