-- How a subscriber takes its deliveries (issue 21): our JSON envelope as it always was, or a
-- CloudEvent wrapping it, in structured mode (application/cloudevents+json) or binary mode
-- (ce-* headers, the envelope as the body).
-- IF NOT EXISTS: before the first release this file was 006, and stacks migrated then have the column.
ALTER TABLE subscriptions
  ADD COLUMN IF NOT EXISTS format TEXT NOT NULL DEFAULT 'envelope'
  CHECK (format IN ('envelope', 'cloudevents-structured', 'cloudevents-binary'));
