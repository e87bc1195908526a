-- The database's own limit (bench run --reference, runner/reference.py), queryable: every reference phase of
-- a run (pgbench running the contract's transaction without an API), and per measured phase the reference's
-- events per second and the phase's fraction of it. Adds columns and a table only, then fills them from the
-- documents already stored, so the runs loaded before this migration keep their data and gain these figures.
CREATE TABLE reference_phases (
    run_id                   text             NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    position                 integer          NOT NULL,  -- order in the document's references
    payload_size             text             NOT NULL,
    name                     text             NOT NULL,  -- the run's phase it stands for (e.g. 10vus)
    vus                      integer          NOT NULL,
    clients                  integer          NOT NULL,
    threads                  integer          NOT NULL,
    duration_seconds         double precision,
    transactions             bigint           NOT NULL,
    failed_transactions      bigint,
    tps                      double precision NOT NULL,
    latency_ms_avg           double precision NOT NULL,
    entities_per_transaction integer          NOT NULL,
    command                  text             NOT NULL,
    PRIMARY KEY (run_id, position)
);

ALTER TABLE phases
    ADD COLUMN reference_tps      double precision,  -- reference.throughput: events/s without an API
    ADD COLUMN reference_fraction double precision;  -- referenceFraction: throughput / reference_tps

INSERT INTO reference_phases
SELECT r.run_id, (ref.ordinality - 1)::integer, ref.value->>'payloadSize', ref.value->>'name',
       (ref.value->>'vus')::integer, (ref.value->>'clients')::integer, (ref.value->>'threads')::integer,
       (ref.value->>'durationSeconds')::double precision, (ref.value->>'transactions')::bigint,
       (ref.value->>'failedTransactions')::bigint, (ref.value->>'tps')::double precision,
       (ref.value->>'latencyMsAvg')::double precision, (ref.value->>'entitiesPerTransaction')::integer,
       ref.value->>'command'
  FROM runs r, jsonb_array_elements(coalesce(r.document->'references', '[]'::jsonb)) WITH ORDINALITY AS ref;

UPDATE phases p
   SET reference_tps = (ph.value->'reference'->>'throughput')::double precision,
       reference_fraction = (ph.value->>'referenceFraction')::double precision
  FROM results res, runs r,
       jsonb_array_elements(r.document->'results') AS doc,
       jsonb_array_elements(doc.value->'phases') WITH ORDINALITY AS ph
 WHERE p.result_id = res.result_id AND r.run_id = res.run_id
   AND doc.value->>'api' = res.api AND doc.value->>'payloadSize' = res.payload_size
   AND (doc.value->>'repeat')::integer = res.repeat
   AND ph.ordinality - 1 = p.position
   AND (ph.value ? 'reference' OR ph.value ? 'referenceFraction');
