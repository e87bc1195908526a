-- Metrics database: every run's results document, queryable. Applied by `runner.metricsdb.migrate`.
CREATE TABLE runs (
    run_id       text        PRIMARY KEY,
    mode         text        NOT NULL,
    stack        text        NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    git_commit   text,
    git_dirty    boolean,
    environment  jsonb       NOT NULL,
    config       jsonb       NOT NULL,
    document     jsonb       NOT NULL
);

CREATE TABLE results (
    result_id        bigserial PRIMARY KEY,
    run_id           text      NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    api              text      NOT NULL,
    language         text,
    framework        text,
    protocol         text,
    deployment       text,
    payload_size     text      NOT NULL,
    repeat           integer   NOT NULL,
    status           text      NOT NULL,
    problem          text,
    verified         boolean,
    startup_seconds  double precision,
    overhead_seconds double precision,
    verification     jsonb,
    database_stats   jsonb,
    UNIQUE (run_id, api, payload_size, repeat)
);

CREATE TABLE phases (
    result_id           bigint  NOT NULL REFERENCES results (result_id) ON DELETE CASCADE,
    position            integer NOT NULL,
    name                text    NOT NULL,
    vus                 integer,
    rate                double precision,
    started_at          timestamptz,
    ended_at            timestamptz,
    requests            bigint,
    failures            bigint,
    throughput          double precision,
    p50_ms              double precision,
    p90_ms              double precision,
    p95_ms              double precision,
    p99_ms              double precision,
    p999_ms             double precision,
    max_ms              double precision,
    mean_ms             double precision,
    errors_by_code      jsonb,
    thresholds          jsonb,
    resources           jsonb,
    efficiency          jsonb,
    generator_saturated boolean,
    PRIMARY KEY (result_id, position)
);
