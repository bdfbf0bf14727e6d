-- The event store (write side). One row per event, keyed by event_id so that a redelivered or
-- retried event is stored once; the status column mirrors the workflow's current state.
CREATE TABLE events (
  event_id       UUID PRIMARY KEY,
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
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX idx_events_user_time ON events (user_id, received_at);
CREATE INDEX idx_events_type_time ON events (event_type, received_at);
CREATE INDEX idx_events_source_time ON events (event_source, received_at);
CREATE INDEX idx_events_status_time ON events (status, received_at);

-- Every status transition, in order. (event_id, run_id, seq) identifies one transition of one
-- workflow run, so an activity retry that repeats a write inserts nothing.
CREATE TABLE event_status_history (
  id          BIGSERIAL PRIMARY KEY,
  event_id    UUID NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
  run_id      TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  status      VARCHAR(20) NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  at          TIMESTAMPTZ NOT NULL,
  UNIQUE (event_id, run_id, seq)
);
