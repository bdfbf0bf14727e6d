-- Webhook subscribers: services (notification, analytics, audit, ...) that receive the events
-- whose subject matches one of their patterns.
CREATE TABLE subscriptions (
  id         UUID PRIMARY KEY,
  url        TEXT NOT NULL,
  subjects   TEXT[] NOT NULL,
  -- Kept to sign deliveries (HMAC-SHA256); never returned by the API.
  secret     TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per successful delivery, so a retry or a reprocess never delivers twice.
CREATE TABLE webhook_deliveries (
  event_id        UUID NOT NULL,
  subscription_id UUID NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  status_code     INTEGER NOT NULL,
  delivered_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, subscription_id)
);
