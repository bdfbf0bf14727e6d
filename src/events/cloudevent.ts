import { v5 as uuidv5 } from 'uuid';
import { z } from 'zod';
import { type ItemError, toItemErrors } from './batch-plan.js';
import { type EventEnvelope, storableTime } from './envelope.js';
import { toEventType } from './event-type-name.js';
import { EVENT_ID_NAMESPACE } from './nats-event.js';
import { findUnstorable } from './storable.js';
import { BACKEND_CATEGORY } from './subject.js';

// A CloudEvent (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md), as its
// attributes, turned into our envelope: the mapping is the table in docs/cloudevents.md. Every
// attribute is kept, in `metadata.cloudevents`; the event's `id` and `source` make its event id.
// The attributes are checked here against the spec, which the SDK's parser only partly does
// (it accepts any specversion and object-valued extensions, and makes up an id when none came).

/** Extension names: lower-case ASCII letters and digits; the spec asks for at most 20. */
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const CONTEXT_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema'] as const;

const text = (max: number) => z.string().min(1, 'must not be empty').max(max);
const attributes = z.looseObject({
  specversion: z.literal('1.0', 'only CloudEvents 1.0 is supported'),
  id: text(200),
  source: text(2048),
  type: text(200),
  subject: text(2048).optional(),
  time: storableTime.optional(),
  datacontenttype: text(200).optional(),
  dataschema: text(2048).optional(),
  data_base64: z.base64().optional(),
});

/** The event id of a CloudEvent: a v5 UUID of its `source` and `id`, which the spec makes unique together. */
export function cloudEventId(source: string, id: string): string {
  return uuidv5(JSON.stringify(['cloudevents', source, id]), EVENT_ID_NAMESPACE);
}

/** The envelope's `data` is an object: other data is wrapped, binary data kept as base64. */
function asData(attrs: Record<string, unknown>): Record<string, unknown> {
  if (typeof attrs.data_base64 === 'string') return { data_base64: attrs.data_base64 };
  const data = attrs.data;
  if (data === undefined) return {};
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) return data as Record<string, unknown>;
  return { value: data };
}

export interface CloudEventContext {
  receivedAt: Date;
}

/** One CloudEvent's attributes (and `data` or `data_base64`) as our envelope, or why they are not a valid CloudEvent. */
export function cloudEventEnvelope(raw: unknown, ctx: CloudEventContext): EventEnvelope | ItemError[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [{ path: '(root)', message: 'expected a CloudEvent object' }];
  const parsed = attributes.safeParse(raw);
  if (!parsed.success) return toItemErrors(parsed.error);
  const attrs = parsed.data;
  const extensions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attrs)) {
    if ((CONTEXT_ATTRIBUTES as readonly string[]).includes(name) || name === 'data' || name === 'data_base64') continue;
    if (!EXTENSION_NAME.test(name)) {
      return [{ path: name, message: 'an extension attribute name is 1 to 20 lower-case ASCII letters or digits' }];
    }
    if (!['string', 'number', 'boolean'].includes(typeof value) || (typeof value === 'number' && !Number.isInteger(value))) {
      return [{ path: name, message: 'an extension attribute is a string, an integer or a boolean' }];
    }
    extensions[name] = value;
  }
  const eventType = toEventType(attrs.type);
  if (!eventType) return [{ path: 'type', message: 'has no letter or digit to make an event type of' }];
  const unstorable = findUnstorable(raw);
  if (unstorable) return [{ path: unstorable.path.join('.') || '(root)', message: unstorable.message }];

  const cloudevents: Record<string, unknown> = {};
  for (const name of CONTEXT_ATTRIBUTES) if (attrs[name] !== undefined) cloudevents[name] = attrs[name];
  Object.assign(cloudevents, extensions);
  return {
    event_id: cloudEventId(attrs.source, attrs.id),
    event_type: eventType,
    event_source: 'backend',
    event_category: BACKEND_CATEGORY,
    data: asData(attrs),
    metadata: { cloudevents },
    timestamp: attrs.time ?? ctx.receivedAt.toISOString(),
    received_at: ctx.receivedAt.toISOString(),
  };
}
