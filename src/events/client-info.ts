import UAParser from 'ua-parser-js';

// Who sent a request, as far as the service can tell: the client's IP (as Fastify reads it:
// X-Forwarded-For only from TRUSTED_PROXIES), its user agent raw and parsed, and the page and
// language its browser announces in headers.

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
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
}

const UA_CACHE_SIZE = 2_000;

export function createClientInfoReader() {
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
    const { ip } = req;
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
    device: compact({
      type: r.device.type ?? (r.browser.name || r.os.name ? 'desktop' : 'unknown'),
      vendor: r.device.vendor,
      model: r.device.model,
    }),
  };
}

function header(headers: RequestLike['headers'], name: string): string | undefined {
  const v = headers[name];
  const text = Array.isArray(v) ? v.join(', ') : v;
  return text ? text : undefined;
}

function compact<T extends Record<string, string | undefined>>(obj: T): { [K in keyof T]: string } {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== '')) as { [K in keyof T]: string };
}
