-- Alerts, one row per message (firing, update, resolved, digest) as
-- published on iwom.alerts.<brand>.<rule>. An alert re-sent after a restart
-- has the same (id, seq): the ReplacingMergeTree keeps one row per key when
-- parts merge, and queries that must not see duplicates before a merge use
-- FINAL or aggregate by (id, seq) as alerts_current does.
-- Runs on ClickHouse 18.16 and current releases: no LowCardinality,
-- DateTime64, Map, TTL or codecs.
CREATE TABLE IF NOT EXISTS {db}.alerts
(
    id              String,
    seq             UInt32,
    rule            String,
    kind            String,
    brand           String,
    state           String,
    severity        UInt8,
    peak_severity   UInt8,
    window_start    DateTime('UTC'),
    window_end      DateTime('UTC'),
    first_seen      DateTime('UTC'),
    event_time      DateTime('UTC'),
    emitted_at      DateTime('UTC'),
    observed        Float64,
    baseline        Float64,
    ratio           Float64,
    z               Float64,
    total           UInt32,
    negative        UInt32,
    top_keywords    Array(String),
    sample_post_ids Array(String),
    sample_texts    Array(String),
    post_id         String,
    held            UInt8,
    payload         String,
    inserted_at     DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(first_seen)
ORDER BY (brand, rule, id, seq)
SETTINGS index_granularity = 8192;

-- One row per alert: its latest state and its peak. Aggregating by id makes
-- duplicate rows harmless without FINAL.
CREATE VIEW IF NOT EXISTS {db}.alerts_current AS
SELECT
    id,
    any(brand)               AS brand,
    any(rule)                AS rule,
    any(kind)                AS kind,
    max(seq)                 AS messages,
    argMax(state, seq)       AS state,
    max(peak_severity)       AS peak_severity,
    min(first_seen)          AS first_seen,
    max(event_time)          AS last_event,
    argMax(observed, seq)    AS observed,
    argMax(baseline, seq)    AS baseline,
    argMax(top_keywords, seq) AS top_keywords
FROM {db}.alerts
GROUP BY id;
