-- Fields encrypted at rest (ENCRYPTED_FIELDS, docs/disaster-recovery.md): `data_key` is the
-- event's own data key sealed with a key of the payload key ring (`keyId:base64`, NULL when the
-- event holds no encrypted field), and `field_hashes` the keyed hashes (HMAC-SHA-256) of its
-- encrypted values, which lookups by those fields match instead of the clear values.
--
-- Safe on a table that already has data: nullable columns without a default are added in the
-- catalogue only, rows untouched. The index holds only rows with hashes, but building it reads
-- every partition once while writes wait (the events wait in JetStream meanwhile); on a large
-- table make it per partition first with CREATE INDEX CONCURRENTLY … WHERE field_hashes IS NOT
-- NULL, and this statement then attaches those instead of building.
ALTER TABLE events
  ADD COLUMN IF NOT EXISTS data_key TEXT,
  ADD COLUMN IF NOT EXISTS field_hashes TEXT[];

CREATE INDEX IF NOT EXISTS idx_events_field_hashes ON events USING GIN (field_hashes) WHERE field_hashes IS NOT NULL;
