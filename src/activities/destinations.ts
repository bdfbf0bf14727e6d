import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent } from 'undici';

// Webhook destinations must not reach into the service's own network: a subscription to
// http://169.254.169.254/ or http://10.0.0.5/admin would turn the worker into a proxy. The check
// runs when a subscription is made, and again on every connection after DNS resolution, so a
// name that later resolves to a private address (DNS rebinding) is refused too.

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  return family === 4 ? PRIVATE.check(address, 'ipv4') : family === 6 ? PRIVATE.check(address, 'ipv6') : false;
}

export class PrivateDestinationError extends Error {
  override name = 'PrivateDestinationError';
}

/** The URL's host without IPv6 brackets, and whether it is an address rather than a name. */
export function urlHost(url: string): { host: string; literal: boolean } {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return { host, literal: isIP(host) !== 0 };
}

/** Resolves the URL's host and refuses it when any address is private, loopback or link-local. */
export async function checkDestination(url: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const { host, literal } = urlHost(url);
  const addresses = literal
    ? [host]
    : (
        await new Promise<LookupAddress[]>((resolve, reject) =>
          dnsLookup(host, { all: true }, (err, a) => (err ? reject(err) : resolve(a))),
        )
      ).map((a) => a.address);
  const refused = addresses.find(isPrivateAddress);
  if (refused) throw new PrivateDestinationError(`${host} resolves to ${refused}, a private, loopback or link-local address`);
}

/** An HTTP agent whose every connection is checked after resolution (or lets all through). */
export function destinationAgent(allowPrivate: boolean): Agent | undefined {
  if (allowPrivate) return undefined;
  return new Agent({
    connect: {
      // Node calls this for host names only (never for an IP literal, which checkDestination covers).
      lookup(hostname, options, callback) {
        dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
          const list = (addresses ?? []) as LookupAddress[];
          const refused = list.find((a) => isPrivateAddress(a.address));
          const error =
            err ??
            (refused
              ? new PrivateDestinationError(`${hostname} resolves to ${refused.address}, a private, loopback or link-local address`)
              : null);
          if ((options as { all?: boolean }).all) (callback as (e: Error | null, a: LookupAddress[]) => void)(error, list);
          else (callback as (e: Error | null, a?: string, f?: number) => void)(error, list[0]?.address, list[0]?.family);
        });
      },
    },
  });
}
