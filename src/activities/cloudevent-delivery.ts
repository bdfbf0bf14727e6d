import { CloudEvent, HTTP } from 'cloudevents';
import type { EventEnvelope } from '../events/envelope.js';

// A delivery as a CloudEvent, for subscribers built on the CloudEvents SDKs (Knative, Event Grid…).
// The data is the envelope a plain webhook receives, so nothing is lost; the attributes say what
// a CloudEvents consumer filters on. An event that came in as a CloudEvent goes out under its
// own source, type, subject and extensions; the id is always our event id (the webhook-id and
// X-Event-Id too), so one key deduplicates whatever the format. The table is in docs/cloudevents.md.

export type CloudEventMode = 'structured' | 'binary';

const CONTEXT_ATTRIBUTES = new Set(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema']);

export function toCloudEvent(event: EventEnvelope): CloudEvent<EventEnvelope> {
  const original = event.metadata.cloudevents as Record<string, unknown> | undefined;
  const extensions: Record<string, unknown> = {};
  if (original) for (const [name, value] of Object.entries(original)) if (!CONTEXT_ATTRIBUTES.has(name)) extensions[name] = value;
  const subject = typeof original?.subject === 'string' ? original.subject : event.user_id;
  return new CloudEvent<EventEnvelope>({
    ...extensions,
    specversion: '1.0',
    id: event.event_id,
    source: typeof original?.source === 'string' ? original.source : `/events/${event.event_source}/${event.event_category}`,
    type: typeof original?.type === 'string' ? original.type : event.event_type,
    ...(subject !== undefined && { subject }),
    time: event.timestamp,
    datacontenttype: 'application/json',
    data: event,
  });
}

/** The request's CloudEvents headers and its body, which is what the signature covers. */
export function cloudEventRequest(event: EventEnvelope, mode: CloudEventMode): { headers: Record<string, string>; body: string } {
  const message = mode === 'binary' ? HTTP.binary(toCloudEvent(event)) : HTTP.structured(toCloudEvent(event));
  const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return { headers, body: String(message.body) };
}
