import { BlockList, isIP } from 'node:net';
import UAParser from 'ua-parser-js';

// Who sent a request, as far as the service can tell: the client's IP (X-Forwarded-For is
// believed only when it was added by a proxy we trust), its user agent raw and parsed, and the
// page and language its browser announces in headers.

export interface ParsedUserAgent {
  browser: { name?: string; version?: string };
  os: { name?: string; version?: string };
  device: { type: string; vendor?: string; model?: string };
}

export interface ClientMetadata extends Partial<ParsedUserAgent> {
  ip?: string;
  user_agent?: string;
}

export interface ClientInfo {
  /** Stored as `metadata.client`. */
  client: ClientMetadata;
  /** The Referer header: the page that made the request, when the event does not name it. */
  referer?: string;
  /** The first Accept-Language tag, when the event does not name a language. */
  language?: string;
}

export interface RequestLike {
  remoteAddress?: string;
  headers: Record<string, string | string[] | undefined>;
}

const UA_CACHE_SIZE = 2_000;

export function createClientInfoReader(trustedProxies: readonly string[]) {
  const trusted = toBlockList(trustedProxies);
  // A site's visitors share few user agents, and parsing one is the costliest step of enrichment.
  const uaCache = new Map<string, ParsedUserAgent>();

  function parseCached(ua: string): ParsedUserAgent {
    let parsed = uaCache.get(ua);
    if (!parsed) {
      if (uaCache.size >= UA_CACHE_SIZE) uaCache.clear();
      parsed = parseUserAgent(ua);
      uaCache.set(ua, parsed);
    }
    return parsed;
  }

  return (req: RequestLike): ClientInfo => {
    const ua = header(req.headers, 'user-agent');
    const ip = clientIp(req.remoteAddress, header(req.headers, 'x-forwarded-for'), trusted);
    const language = header(req.headers, 'accept-language')?.split(',')[0]?.split(';')[0]?.trim();
    const referer = header(req.headers, 'referer');
    return {
      client: { ...(ip && { ip }), ...(ua && { user_agent: ua.slice(0, 1024), ...parseCached(ua) }) },
      ...(referer && { referer: referer.slice(0, 2048) }),
      ...(language && language !== '*' && { language: language.slice(0, 35) }),
    };
  };
}

export type ClientInfoReader = ReturnType<typeof createClientInfoReader>;

export function parseUserAgent(ua: string): ParsedUserAgent {
  const r = new UAParser(ua).getResult();
  return {
    browser: compact({ name: r.browser.name, version: r.browser.version }),
    os: compact({ name: r.os.name, version: r.os.version }),
    // The parser names no type for desktops; a UA it cannot read at all stays "unknown".
    device: compact({ type: r.device.type ?? (r.browser.name || r.os.name ? 'desktop' : 'unknown'), vendor: r.device.vendor, model: r.device.model }),
  };
}

/**
 * The rightmost address in X-Forwarded-For that is not one of our proxies. Hops are only
 * believed while the hop that reported them is trusted, so a client cannot forge its own IP.
 */
export function clientIp(remoteAddress: string | undefined, forwardedFor: string | undefined, trusted: BlockList): string | undefined {
  let ip = remoteAddress ? normalize(remoteAddress) : undefined;
  if (!ip || !forwardedFor || !isTrusted(trusted, ip)) return ip;
  const hops = forwardedFor.split(',').map((h) => normalize(h.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isIP(hop)) return ip;
    ip = hop;
    if (!isTrusted(trusted, hop)) return hop;
  }
  return ip;
}

export function toBlockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(address)) throw new Error(`trusted proxy "${entry}" is not an IP address or CIDR range`);
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

function isTrusted(list: BlockList, ip: string): boolean {
  return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; `1.2.3.4:5678` and `[::1]:80` lose their port. */
function normalize(address: string): string {
  let a = address;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  return a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function header(headers: RequestLike['headers'], name: string): string | undefined {
  const v = headers[name];
  const text = Array.isArray(v) ? v.join(', ') : v;
  return text ? text : undefined;
}

function compact<T extends Record<string, string | undefined>>(obj: T): { [K in keyof T]: string } {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== '')) as { [K in keyof T]: string };
}
