-- Every delivery of an event to one subscriber is its own unit with its own state, so that one
-- subscriber's failure neither blocks nor fails delivery to the others, and a reprocess
-- re-delivers only to the subscribers that have not received the event.
ALTER TABLE webhook_deliveries
  ADD COLUMN status     VARCHAR(20) NOT NULL DEFAULT 'delivered',
  ADD COLUMN attempts   INTEGER NOT NULL DEFAULT 1,
  ADD COLUMN last_error TEXT,
  ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ALTER COLUMN status_code DROP NOT NULL;
ALTER TABLE webhook_deliveries RENAME COLUMN status_code TO response_code;
ALTER TABLE webhook_deliveries ALTER COLUMN delivered_at DROP NOT NULL;
ALTER TABLE webhook_deliveries ALTER COLUMN delivered_at DROP DEFAULT;
ALTER TABLE webhook_deliveries ALTER COLUMN status DROP DEFAULT;

-- Workers keep the subscription list in memory and reload it when told it changed, instead of
-- reading the whole table for every event.
CREATE FUNCTION notify_subscriptions_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('subscriptions_changed', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON subscriptions
  FOR EACH STATEMENT EXECUTE FUNCTION notify_subscriptions_changed();

-- Operator actions keep who asked and why, beside the transition they caused.
ALTER TABLE event_status_history
  ADD COLUMN reason TEXT,
  ADD COLUMN actor  TEXT;
