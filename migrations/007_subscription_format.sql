-- How a subscriber takes its deliveries (issue 21): our JSON envelope as it always was, or a
-- CloudEvent wrapping it, in structured mode (application/cloudevents+json) or binary mode
-- (ce-* headers, the envelope as the body).
ALTER TABLE subscriptions
  ADD COLUMN format TEXT NOT NULL DEFAULT 'envelope'
  CHECK (format IN ('envelope', 'cloudevents-structured', 'cloudevents-binary'));
