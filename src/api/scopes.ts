// The scopes a token can carry; each route names the one it needs in its `config.scope`.
// `events:decrypt` opens no route: it shows the encrypted fields (ENCRYPTED_FIELDS) in clear
// where read or admin shows events, and allows looking events up by them.
export const SCOPES = ['events:write', 'events:read', 'events:admin', 'events:decrypt'] as const;
export type Scope = (typeof SCOPES)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs; routes without one (health, metrics, docs) are public. */
    scope?: Scope;
    /** Whether a publishable write key (X-Write-Key or `write_key`) may stand in for a token. */
    acceptsWriteKey?: boolean;
    /** The body field a write key may come in, on routes that accept one: `write_key` unless named (Segment's is `writeKey`). */
    bodyWriteKeyField?: string;
    /**
     * A text/plain body is data like any other here (CloudEvents' binary mode). Elsewhere it is refused
     * unless a write key is accepted, since it lets a page post cross-site without a preflight; a route
     * that requires non-simple headers (ce-*) is not open to that.
     */
    textPlainIsData?: boolean;
  }
}
