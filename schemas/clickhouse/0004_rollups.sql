-- Rollups: exact per-bucket aggregates of iwom.posts, rebuilt by iwom
-- rather than fed by materialized views (see schemas/README.md, "Why the
-- rollups are rebuilt"). Each rollup's sorting key is its dimensions;
-- `build` is the version of the rebuild that wrote the row, so the newest
-- build of a key wins (FINAL, or background merges). A group that
-- disappears in a rebuild (a post re-enriched into another label, say) is
-- overwritten by a zero row (posts = 0, or live = 0 for top_posts_1h), which
-- the *_store readers and the views drop.
-- Brand columns use the brand-directed sentiment: the post's
-- brand_sentiment label/score for that brand when present, else the post's.

-- Per brand × 5 minutes × platform × label: posts, unique authors, reach
-- (sum of author followers), engagement (reposts + comments + likes),
-- sentiment sum.
CREATE TABLE IF NOT EXISTS {db}.volume_5m_store
(
    brand         String,
    bucket        DateTime('UTC'),
    platform      String,
    label         String,
    build         UInt64,
    posts         UInt64,
    authors       AggregateFunction(uniqExact, String),
    reach         UInt64,
    engagement    UInt64,
    sentiment_sum Float64
)
ENGINE = ReplacingMergeTree(build)
PARTITION BY toYYYYMM(bucket)
ORDER BY (brand, bucket, platform, label);

CREATE VIEW IF NOT EXISTS {db}.volume_5m AS
SELECT brand, bucket, platform, label, posts, authors, reach, engagement, sentiment_sum
FROM {db}.volume_5m_store FINAL
WHERE posts > 0;

-- Per brand × hour × platform × term: posts that carry the term. Terms are
-- the post's keywords and its hashtags written #like this#, each counted
-- once per post.
CREATE TABLE IF NOT EXISTS {db}.terms_1h_store
(
    brand    String,
    hour     DateTime('UTC'),
    platform String,
    term     String,
    build    UInt64,
    posts    UInt64
)
ENGINE = ReplacingMergeTree(build)
PARTITION BY toYYYYMM(hour)
ORDER BY (brand, hour, platform, term);

CREATE VIEW IF NOT EXISTS {db}.terms_1h AS
SELECT brand, hour, platform, term, posts
FROM {db}.terms_1h_store FINAL
WHERE posts > 0;

-- Per brand × hour × platform × author (KOLs): posts, largest follower
-- count, reach, engagement and the author's sentiment toward the brand.
CREATE TABLE IF NOT EXISTS {db}.authors_1h_store
(
    brand         String,
    hour          DateTime('UTC'),
    platform      String,
    author_id     String,
    build         UInt64,
    author_name   String,
    followers     UInt64,
    posts         UInt64,
    reach         UInt64,
    engagement    UInt64,
    positive      UInt64,
    neutral       UInt64,
    negative      UInt64,
    sentiment_sum Float64
)
ENGINE = ReplacingMergeTree(build)
PARTITION BY toYYYYMM(hour)
ORDER BY (brand, hour, platform, author_id);

CREATE VIEW IF NOT EXISTS {db}.authors_1h AS
SELECT brand, hour, platform, author_id, author_name, followers, posts, reach, engagement,
       positive, neutral, negative, sentiment_sum
FROM {db}.authors_1h_store FINAL
WHERE posts > 0;

-- Per brand × hour × platform × label: the 20 posts with the most reposts,
-- the 20 with the most comments and the 20 with the most engagement (ties
-- broken by platform, id), so the top N ≤ 20 of any window, platform and
-- label set is exact.
CREATE TABLE IF NOT EXISTS {db}.top_posts_1h_store
(
    brand       String,
    hour        DateTime('UTC'),
    platform    String,
    id          String,
    build       UInt64,
    live        UInt8,
    label       String,
    created_at  DateTime('UTC'),
    url         String,
    text        String,
    author_id   String,
    author_name String,
    followers   UInt64,
    reposts     UInt64,
    comments    UInt64,
    likes       UInt64,
    engagement  UInt64
)
ENGINE = ReplacingMergeTree(build)
PARTITION BY toYYYYMM(hour)
ORDER BY (brand, hour, platform, id);

CREATE VIEW IF NOT EXISTS {db}.top_posts_1h AS
SELECT brand, hour, platform, id, label, created_at, url, text, author_id, author_name, followers,
       reposts, comments, likes, engagement
FROM {db}.top_posts_1h_store FINAL
WHERE live = 1;

-- Bookkeeping. rollup_dirty: every insert into posts_store marks the hours
-- (of created_at) it touched, through a materialized view, with the server
-- time. rollup_builds: when each hour was last rebuilt (server time at the
-- start of the rebuild). An hour whose mark is not older than its last
-- rebuild (less a margin for inserts in flight) is rebuilt by the sweep.
CREATE TABLE IF NOT EXISTS {db}.rollup_dirty
(
    hour      DateTime('UTC'),
    marked_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree(marked_at)
ORDER BY hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_dirty_mv TO {db}.rollup_dirty AS
SELECT toStartOfHour(created_at) AS hour, now() AS marked_at
FROM {db}.posts_store
GROUP BY hour;

CREATE TABLE IF NOT EXISTS {db}.rollup_builds
(
    hour     DateTime('UTC'),
    built_at DateTime('UTC'),
    build    UInt64
)
ENGINE = ReplacingMergeTree(built_at)
ORDER BY hour;

-- Hours stored before this migration: the sweep builds them.
INSERT INTO {db}.rollup_dirty (hour, marked_at)
SELECT toStartOfHour(created_at) AS hour, now() AS marked_at
FROM {db}.posts_store
GROUP BY hour;
