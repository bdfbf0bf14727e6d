-- A delivery is claimed before it is sent: `sending_until` is the end of the sender's claim (its
-- request timeout and a margin). Two executions of one event's processing can overlap (a local
-- activity run again while the first is still sending, on the same worker or another); each
-- checking "delivered yet?" before its POST would both send. Claiming the row first lets one of
-- them send; the other retries once the claim is recorded or has run out (a sender that crashed).
-- Recording the attempt ends the claim. Nullable without a default: added in the catalogue only.
ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS sending_until TIMESTAMPTZ;
