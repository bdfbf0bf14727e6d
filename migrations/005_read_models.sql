-- Read models: the answers asked for every day (counts, active users, sessions), kept up to date
-- by the projection processor and rebuildable from `events`. All of them are by received_at
-- (the service's clock, UTC): a client's clock can be wrong, and a period, once past, stays
-- closed, which is what lets the answers be cached and given as of a past time.

-- One row per event the read models count: a redelivery, a retry or a reprocess finds its row
-- and counts nothing. Deleting the id (privacy deletion, retention) removes it.
CREATE TABLE projected_events (
  event_id UUID PRIMARY KEY REFERENCES event_ids (event_id) ON DELETE CASCADE
);

CREATE TABLE event_counts_hourly (
  hour           TIMESTAMPTZ NOT NULL,
  event_type     VARCHAR(100) NOT NULL,
  event_source   VARCHAR(50) NOT NULL,
  event_category VARCHAR(50) NOT NULL,
  count          BIGINT NOT NULL,
  PRIMARY KEY (hour, event_type, event_source, event_category)
);

CREATE TABLE event_counts_daily (
  day            DATE NOT NULL,
  event_type     VARCHAR(100) NOT NULL,
  event_source   VARCHAR(50) NOT NULL,
  event_category VARCHAR(50) NOT NULL,
  count          BIGINT NOT NULL,
  PRIMARY KEY (day, event_type, event_source, event_category)
);

CREATE TABLE daily_active_users (
  day           DATE NOT NULL,
  user_id       VARCHAR(100) NOT NULL,
  first_seen_at TIMESTAMPTZ NOT NULL,
  events        INTEGER NOT NULL,
  PRIMARY KEY (day, user_id)
);
CREATE INDEX idx_daily_active_users_user ON daily_active_users (user_id);

CREATE TABLE session_summaries (
  session_id        VARCHAR(100) PRIMARY KEY,
  user_id           VARCHAR(100),
  -- By the event's own time, as GET /api/sessions/:id answers; received_* place it in a period.
  started_at        TIMESTAMPTZ NOT NULL,
  ended_at          TIMESTAMPTZ NOT NULL,
  event_count       INTEGER NOT NULL,
  first_received_at TIMESTAMPTZ NOT NULL,
  last_received_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_session_summaries_received ON session_summaries (first_received_at);
CREATE INDEX idx_session_summaries_user ON session_summaries (user_id);

-- Long-running jobs (projections:rebuild, replay) record where they are, to resume there.
CREATE TABLE read_side_jobs (
  name        TEXT PRIMARY KEY,
  params      JSONB NOT NULL,
  position    JSONB,
  done        BIGINT NOT NULL DEFAULT 0,
  total       BIGINT,
  started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ
);

-- A user's events deleted for privacy: who asked, when, how many. No event data.
CREATE TABLE user_tombstones (
  id         BIGSERIAL PRIMARY KEY,
  user_id    VARCHAR(100) NOT NULL,
  deleted    INTEGER NOT NULL,
  actor      TEXT,
  deleted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_user_tombstones_user ON user_tombstones (user_id);
