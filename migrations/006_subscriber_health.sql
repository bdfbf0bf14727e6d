-- Subscriber health (docs/subscribers.md): a subscription is `active`, `paused` (by an operator,
-- or automatically after a run of failures) or `disabled`; a delivery to a paused subscriber
-- waits here, in PostgreSQL, instead of spending its event's retry budget.
ALTER TABLE subscriptions
  ADD COLUMN state        VARCHAR(20) NOT NULL DEFAULT 'active',
  -- Why the state was set, and who set it (the token subject; NULL when the service paused it).
  ADD COLUMN state_reason TEXT,
  ADD COLUMN state_actor  TEXT,
  ADD COLUMN state_since  TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- `service` (paused after failures: probed, resumed by itself) or `operator` (stays until an operator acts).
  ADD COLUMN state_by     VARCHAR(20) NOT NULL DEFAULT 'operator',
  -- Per-subscription delivery settings (pause threshold, retry schedule, timeout, drain rate,
  -- maximum wait); a key left out takes the service's default.
  ADD COLUMN settings     JSONB NOT NULL DEFAULT '{}';

-- The run of failures that pauses a subscriber, apart from `subscriptions`: counting a failure
-- must not send the NOTIFY that makes every worker reload its subscription list.
CREATE TABLE subscription_health (
  subscription_id      UUID PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  first_failure_at     TIMESTAMPTZ,
  last_failure_at      TIMESTAMPTZ,
  last_response_code   INTEGER,
  last_error           TEXT
);

-- A delivery's place in its subscriber's queue is its event's received_at (the order events were
-- received); waiting_since starts its maximum wait; replay_id ties it to the replay that re-queued it.
ALTER TABLE webhook_deliveries
  ADD COLUMN event_received_at TIMESTAMPTZ,
  ADD COLUMN waiting_since     TIMESTAMPTZ,
  ADD COLUMN latency_ms        INTEGER,
  ADD COLUMN replay_id         UUID,
  -- For a subscription with ordered delivery: the value of its ordering key in this event.
  ADD COLUMN ordering_key      TEXT;
UPDATE webhook_deliveries d SET event_received_at = k.received_at FROM event_ids k WHERE k.event_id = d.event_id;
ALTER TABLE webhook_deliveries ALTER COLUMN event_received_at SET NOT NULL;
-- The service always writes it from the envelope; any other writer gets it from event_ids (the
-- WHEN clause keeps the trigger from running at all for the service's own inserts).
CREATE FUNCTION fill_delivery_received_at() RETURNS trigger AS $$
BEGIN
  NEW.event_received_at := (SELECT received_at FROM event_ids WHERE event_id = NEW.event_id);
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER fill_delivery_received_at BEFORE INSERT ON webhook_deliveries
  FOR EACH ROW WHEN (NEW.event_received_at IS NULL) EXECUTE FUNCTION fill_delivery_received_at();
-- One index for the drain (oldest waiting first), the delivery log by status and time, and replays
-- by time: every delivery the service records costs this one entry more, and no second one by
-- time alone. A read by time without a status (a replay, an unfiltered log page) skips over the few
-- statuses on PostgreSQL 18; older versions read the subscription's part of the index, which is
-- fine for a rare operator's read and keeps the write per delivery to one entry.
CREATE INDEX idx_deliveries_subscription_status_time ON webhook_deliveries (subscription_id, status, event_received_at, event_id);
-- An ordered subscription's drain: the oldest waiting delivery of each key.
CREATE INDEX idx_deliveries_subscription_key ON webhook_deliveries (subscription_id, ordering_key, event_received_at, event_id)
  WHERE status = 'waiting' AND ordering_key IS NOT NULL;
CREATE INDEX idx_deliveries_replay ON webhook_deliveries (replay_id) WHERE replay_id IS NOT NULL;

-- A replay of a subscription's deliveries over a time range: its deliveries are re-queued
-- (status `waiting`, this replay's id) and sent by the subscriber's drain, so it resumes after
-- any crash; its progress is counted from them.
CREATE TABLE delivery_replays (
  id              UUID PRIMARY KEY,
  subscription_id UUID NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  since           TIMESTAMPTZ NOT NULL,
  until           TIMESTAMPTZ NOT NULL,
  statuses        TEXT[],
  matched         INTEGER NOT NULL,
  reason          TEXT,
  actor           TEXT,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
