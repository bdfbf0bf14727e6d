-- The event store partitioned by month on received_at, so that reads by time touch only the
-- months they ask for and retention drops whole months instead of deleting rows.
--
-- A partitioned table's unique keys must include the partition key, so `events` alone can no
-- longer promise that an id is stored once (the same id could arrive twice with two received_at,
-- e.g. resent over HTTP long after the stream's duplicate window). `event_ids` keeps that promise:
-- one row per stored id, written in the same statement as the event, and the foreign-key target
-- of everything that hangs off an event (its history, its deliveries), so deleting an id removes
-- all of it. It also tells a lookup by id which partition holds the event.
CREATE TABLE event_ids (
  event_id    UUID PRIMARY KEY,
  received_at TIMESTAMPTZ NOT NULL
);
INSERT INTO event_ids (event_id, received_at) SELECT event_id, received_at FROM events;

ALTER TABLE event_status_history DROP CONSTRAINT IF EXISTS event_status_history_event_id_fkey;
ALTER TABLE event_status_history ADD CONSTRAINT event_status_history_event_id_fkey
  FOREIGN KEY (event_id) REFERENCES event_ids (event_id) ON DELETE CASCADE;
DELETE FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM event_ids k WHERE k.event_id = d.event_id);
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_id_fkey
  FOREIGN KEY (event_id) REFERENCES event_ids (event_id) ON DELETE CASCADE;

ALTER TABLE events RENAME TO events_unpartitioned;
ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey;
DROP INDEX idx_events_user_time, idx_events_type_time, idx_events_source_time, idx_events_status_time;

CREATE TABLE events (
  event_id       UUID NOT NULL,
  event_type     VARCHAR(100) NOT NULL,
  event_source   VARCHAR(50)  NOT NULL,
  event_category VARCHAR(50)  NOT NULL,
  user_id        VARCHAR(100),
  session_id     VARCHAR(100),
  data           JSONB NOT NULL DEFAULT '{}',
  metadata       JSONB NOT NULL DEFAULT '{}',
  status         VARCHAR(20) NOT NULL DEFAULT 'pending',
  attempts       INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT,
  timestamp      TIMESTAMPTZ NOT NULL,
  received_at    TIMESTAMPTZ NOT NULL,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, received_at)
) PARTITION BY RANGE (received_at);

-- Indexes on the parent are made on every partition, present and future. event_id ends each
-- one so that a page ordered by (received_at, event_id) is read from the index, in order.
CREATE INDEX idx_events_time ON events (received_at, event_id);
CREATE INDEX idx_events_user_time ON events (user_id, received_at, event_id);
CREATE INDEX idx_events_session_time ON events (session_id, received_at, event_id);
CREATE INDEX idx_events_type_time ON events (event_type, received_at, event_id);
CREATE INDEX idx_events_source_time ON events (event_source, received_at, event_id);
CREATE INDEX idx_events_status_time ON events (status, received_at, event_id);
CREATE INDEX idx_events_data ON events USING GIN (data jsonb_path_ops);

-- Whatever falls outside the monthly partitions (a month not made yet) lands here.
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- The partition of the month holding `at` (UTC months), made if missing. Rows of that month
-- already in the default partition are moved into it. Safe to call from several processes.
CREATE FUNCTION ensure_event_partition(at TIMESTAMPTZ) RETURNS TEXT AS $$
DECLARE
  month_start TIMESTAMP := date_trunc('month', at AT TIME ZONE 'UTC');
  lo TIMESTAMPTZ := month_start AT TIME ZONE 'UTC';
  hi TIMESTAMPTZ := (month_start + INTERVAL '1 month') AT TIME ZONE 'UTC';
  part TEXT := 'events_' || to_char(month_start, 'YYYY_MM');
BEGIN
  IF to_regclass(part) IS NOT NULL THEN RETURN part; END IF;
  PERFORM pg_advisory_xact_lock(hashtext('event partitions'));
  IF to_regclass(part) IS NOT NULL THEN RETURN part; END IF;
  IF EXISTS (SELECT 1 FROM events_default WHERE received_at >= lo AND received_at < hi) THEN
    EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS)', part);
    EXECUTE format('WITH moved AS (DELETE FROM events_default WHERE received_at >= $1 AND received_at < $2 RETURNING *)
                    INSERT INTO %I SELECT * FROM moved', part) USING lo, hi;
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  ELSE
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  END IF;
  RETURN part;
END;
$$ LANGUAGE plpgsql;

-- The rows already stored get the partitions of their months, then move in.
SELECT ensure_event_partition(m)
  FROM (SELECT DISTINCT date_trunc('month', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM events_unpartitioned) months;
SELECT ensure_event_partition(now());
INSERT INTO events SELECT event_id, event_type, event_source, event_category, user_id, session_id, data, metadata,
  status, attempts, last_error, timestamp, received_at, created_at, updated_at FROM events_unpartitioned;
DROP TABLE events_unpartitioned;
