-- Enriched posts. One row per delivery; the ReplacingMergeTree keeps, per
-- (platform, id), the row with the highest `version` (the latest
-- observation) when parts merge. Analysts query the iwom.posts view, which
-- reads with FINAL so every post counts once even before merges.
-- Runs on ClickHouse 18.16 and current releases: no LowCardinality,
-- DateTime64, Map, TTL or codecs.
CREATE TABLE IF NOT EXISTS {db}.posts_store
(
    platform             String,
    id                   String,
    kind                 String,
    url                  String,
    text                 String,
    norm_text            String,
    own_text             String,
    created_at           DateTime('UTC'),
    ingested_at          DateTime('UTC'),
    enriched_at          DateTime('UTC'),
    inserted_at          DateTime('UTC') DEFAULT now(),
    source               String,
    author_id            String,
    author_name          String,
    author_followers     UInt64,
    author_verified      UInt8,
    author_verified_type Int16,
    author_location      String,
    repost_of            String,
    reply_to             String,
    reposts              UInt64,
    comments             UInt64,
    likes                UInt64,
    reads                UInt64,
    tokens               Array(String),
    keywords             Array(String),
    hashtags             Array(String),
    mentions             Array(String),
    emoticons            Array(String),
    urls                 Array(String),
    brands               Array(String),
    sentiment_score      Float32,
    sentiment_label      String,
    emotion              String,
    version              UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (platform, id)
SETTINGS index_granularity = 8192;

-- The analyst-facing relation: exactly one row per post.
CREATE VIEW IF NOT EXISTS {db}.posts AS
SELECT * FROM {db}.posts_store FINAL;
