-- posts_by_time: the columns the rollups and reports need, ordered by time.
-- posts_store is ordered by (platform, id) for de-duplication, so a time
-- range there scans every created_at of the month; here it is a range of
-- the primary key. A materialized view fills it on every insert into
-- posts_store, so it holds one row per delivery too: readers take each
-- post's latest observation (argMax(…, version) grouped by platform, id,
-- created_at; created_at never changes for a post), and ReplacingMergeTree
-- drops the older rows in background merges.
CREATE TABLE IF NOT EXISTS {db}.posts_by_time
(
    created_at             DateTime('UTC'),
    platform               String,
    id                     String,
    version                UInt64,
    url                    String,
    text                   String,
    author_id              String,
    author_name            String,
    author_followers       UInt64,
    reposts                UInt64,
    comments               UInt64,
    likes                  UInt64,
    keywords               Array(String),
    hashtags               Array(String),
    brands                 Array(String),
    sentiment_score        Float32,
    sentiment_label        String,
    brand_sentiment_brands Array(String),
    brand_sentiment_scores Array(Float32),
    brand_sentiment_labels Array(String)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (created_at, platform, id)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.posts_by_time_mv TO {db}.posts_by_time AS
SELECT created_at, platform, id, version, url, text, author_id, author_name, author_followers,
       reposts, comments, likes, keywords, hashtags, brands, sentiment_score, sentiment_label,
       brand_sentiment_brands, brand_sentiment_scores, brand_sentiment_labels
FROM {db}.posts_store;

-- Posts stored before this migration (a concurrent migration may copy them
-- twice: readers de-duplicate).
INSERT INTO {db}.posts_by_time (created_at, platform, id, version, url, text, author_id, author_name, author_followers,
       reposts, comments, likes, keywords, hashtags, brands, sentiment_score, sentiment_label,
       brand_sentiment_brands, brand_sentiment_scores, brand_sentiment_labels)
SELECT created_at, platform, id, version, url, text, author_id, author_name, author_followers,
       reposts, comments, likes, keywords, hashtags, brands, sentiment_score, sentiment_label,
       brand_sentiment_brands, brand_sentiment_scores, brand_sentiment_labels
FROM {db}.posts_store;

-- posts_moved: observations a later one superseded at another created_at.
-- created_at is normally fixed for a post, but a source may report it
-- differently (a corrected clock, a generator re-run with another --end).
-- iwom.posts then shows the post once, at its latest created_at, while
-- posts_by_time keeps a row at each time. Before inserting, the sink looks
-- up the stored observation of each post and records a move here; readers
-- drop rows of (platform, id) at old_at whose version is below new_version,
-- once posts_by_time holds the superseding row (new_at, version ≥
-- new_version) — so a move whose insert never happened drops nothing.
CREATE TABLE IF NOT EXISTS {db}.posts_moved
(
    old_at      DateTime('UTC'),
    platform    String,
    id          String,
    new_at      DateTime('UTC'),
    new_version UInt64
)
ENGINE = ReplacingMergeTree(new_version)
ORDER BY (old_at, platform, id, new_at);
