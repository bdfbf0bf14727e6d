export type Category = 'user_interaction' | 'business_action' | 'system_event';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One event as queued, in the shape POST /api/frontend/events takes (`sent_at` is added at send time). */
export interface QueuedEvent {
  event_id: string;
  event_type: string;
  category: Category;
  data: JsonObject;
  metadata: JsonObject;
  user_id?: string;
  session_id?: string;
  timestamp: string;
}

export interface ItemError {
  path: string;
  message: string;
  unknown_fields?: string[];
}

/** What the SDK tells `onReport` about: nothing is dropped without one of these. */
export type Report =
  | { type: 'sent'; accepted: string[]; duplicates: string[] }
  | { type: 'rejected'; events: { event: QueuedEvent; errors: ItemError[] }[] }
  | { type: 'evicted'; count: number; eventIds: string[] }
  | { type: 'retry'; reason: string; delayMs: number; attempt: number; pending: number }
  | { type: 'error'; message: string };

export interface Stats {
  storage: 'indexeddb' | 'localstorage' | 'memory';
  queued: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  evicted: number;
  retries: number;
  /** Requests sent with the page-exit path (keepalive fetch or beacon). */
  exitSends: number;
}
