// Why a workflow start failed decides what the bridge does with the message. gRPC status codes:
// https://grpc.io/docs/guides/status-codes/

// Temporal is down, restarting, overloaded, misconfigured for a while (namespace missing,
// credentials expired) or failing inside: the same start can work later, and an outage of any
// length must never cost an event.
const TRANSIENT = new Set([
  1 /* CANCELLED */, 2 /* UNKNOWN */, 4 /* DEADLINE_EXCEEDED */, 5 /* NOT_FOUND */, 7 /* PERMISSION_DENIED */, 8 /* RESOURCE_EXHAUSTED */,
  10 /* ABORTED */, 13 /* INTERNAL */, 14 /* UNAVAILABLE */, 16 /* UNAUTHENTICATED */,
]);
// The request itself is refused (too large a payload, a bad search attribute): it never will.
const PERMANENT = new Set([3 /* INVALID_ARGUMENT */, 11 /* OUT_OF_RANGE */]);

export type StartErrorKind = 'transient' | 'permanent' | 'unknown';

/** Reads the gRPC status code from the error or its causes. */
function grpcCode(err: unknown): number | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

export function classifyStartError(err: unknown): StartErrorKind {
  const code = grpcCode(err);
  if (code === undefined) {
    // No status at all: the connection is not there (refused, reset, not yet connected).
    return /connect|ECONNREFUSED|ECONNRESET|transport|unavailable|timed? ?out/i.test(String((err as Error)?.message))
      ? 'transient'
      : 'unknown';
  }
  if (TRANSIENT.has(code)) return 'transient';
  if (PERMANENT.has(code)) return 'permanent';
  return 'unknown';
}
