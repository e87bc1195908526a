"""The contract's SQL statements as Python constants (their home is contract/CONTRACT.md; a unit test
checks these are byte-identical to it). The conformance suite and the run verification both use them."""

S1 = ("INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) "
      "VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb) ON CONFLICT (uuid) DO NOTHING")
S2 = ("INSERT INTO entities (entity_type, entity_id, data) VALUES ($1, $2, $3::jsonb) "
      "ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = entities.data || EXCLUDED.data, "
      "updated_at = now()")
