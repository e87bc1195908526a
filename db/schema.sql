-- The one schema of the system under test. Applied by the Postgres image at init
-- (and by the runner when it resets the database); never by an API.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

CREATE TABLE IF NOT EXISTS events (
    uuid          uuid        PRIMARY KEY,
    event_name    text        NOT NULL,
    event_type    text        NOT NULL,
    created_date  timestamptz,
    saved_date    timestamptz,
    payload       jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- Every entity type lives in this one table, so every entity costs the same single
-- statement in every API. The primary key is the only index: the upsert needs it.
CREATE TABLE IF NOT EXISTS entities (
    entity_type   text        NOT NULL,
    entity_id     text        NOT NULL,
    data          jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_type, entity_id)
);
