-- The ledger: exact rollups at a cost per batch proportional to the batch.
--
-- posts_store becomes a VersionedCollapsingMergeTree(sign, version): each
-- post has one live row (sign = +1) holding its latest observation. When a
-- newer observation arrives, the sink writes, in one INSERT, a cancel row
-- (sign = -1, the stored observation's key, version and every column the
-- rollups read) and the new row (+1). A duplicate or an older observation
-- writes nothing. Materialized views turn every inserted row into
-- sign-weighted contributions: the rollups are SummingMergeTree tables whose
-- sums are exact because every contribution that was added is subtracted by
-- its cancel row. The sink learns what is stored from its state store (see
-- sinks/clickhouse/state), never by reading the hour back.
-- docs/ARCHITECTURE.md states the invariant and its proof.
--
-- What this migration does to an existing database: the old rollups and
-- their bookkeeping (derived data) are dropped, posts_store is renamed to
-- posts_store_v1 (kept: drop it by hand once satisfied), and its latest
-- observations are copied into the new posts_store, which fills every
-- rollup through the views. Run `iwom migrate` once before starting the
-- new processes.

DROP TABLE IF EXISTS {db}.posts_by_time_mv;
DROP TABLE IF EXISTS {db}.rollup_dirty_mv;
DROP TABLE IF EXISTS {db}.posts;
DROP TABLE IF EXISTS {db}.volume_5m;
DROP TABLE IF EXISTS {db}.terms_1h;
DROP TABLE IF EXISTS {db}.authors_1h;
DROP TABLE IF EXISTS {db}.top_posts_1h;
DROP TABLE IF EXISTS {db}.posts_by_time;
DROP TABLE IF EXISTS {db}.posts_moved;
DROP TABLE IF EXISTS {db}.rollup_dirty;
DROP TABLE IF EXISTS {db}.rollup_builds;
DROP TABLE IF EXISTS {db}.volume_5m_store;
DROP TABLE IF EXISTS {db}.terms_1h_store;
DROP TABLE IF EXISTS {db}.authors_1h_store;
DROP TABLE IF EXISTS {db}.top_posts_1h_store;

-- Tolerated by iwom migrate when already done (the target exists or the
-- source is gone).
RENAME TABLE {db}.posts_store TO {db}.posts_store_v1;

CREATE TABLE IF NOT EXISTS {db}.posts_store
(
    platform               String,
    id                     String,
    kind                   String,
    url                    String,
    text                   String,
    norm_text              String,
    own_text               String,
    created_at             DateTime('UTC'),
    ingested_at            DateTime('UTC'),
    enriched_at            DateTime('UTC'),
    inserted_at            DateTime('UTC') DEFAULT now(),
    source                 String,
    author_id              String,
    author_name            String,
    author_followers       UInt64,
    author_verified        UInt8,
    author_verified_type   Int16,
    author_location        String,
    repost_of              String,
    reply_to               String,
    reposts                UInt64,
    comments               UInt64,
    likes                  UInt64,
    reads                  UInt64,
    tokens                 Array(String),
    keywords               Array(String),
    hashtags               Array(String),
    mentions               Array(String),
    emoticons              Array(String),
    urls                   Array(String),
    brands                 Array(String),
    sentiment_score        Float32,
    sentiment_label        String,
    brand_sentiment_brands Array(String),
    brand_sentiment_scores Array(Float32),
    brand_sentiment_labels Array(String),
    emotion                String,
    version                UInt64,
    sign                   Int8
)
ENGINE = VersionedCollapsingMergeTree(sign, version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (platform, id)
SETTINGS index_granularity = 8192;

-- Which ClickHouse database a sink's state store belongs to: a store built
-- for another epoch (a database dropped and created again) is rebuilt.
CREATE TABLE IF NOT EXISTS {db}.ledger_epoch
(
    epoch      String,
    created_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree ORDER BY epoch;

INSERT INTO {db}.ledger_epoch (epoch)
SELECT toString(generateUUIDv4()) FROM system.one WHERE (SELECT count() FROM {db}.ledger_epoch) = 0;

-- Per post and brand it names: the post's live row, for top posts, for the
-- partial buckets at the edges of a report's window and for term filters.
-- label and score are the sentiment toward the brand (its
-- brand_sentiment entry when the post scores brands separately, else the
-- post's); terms are the keywords and the hashtags written #like this#.
CREATE TABLE IF NOT EXISTS {db}.brand_posts
(
    brand       String,
    hour        DateTime('UTC'),
    platform    String,
    id          String,
    version     UInt64,
    sign        Int8,
    created_at  DateTime('UTC'),
    label       String,
    score       Float32,
    url         String,
    text        String,
    author_id   String,
    author_name String,
    followers   UInt64,
    reposts     UInt64,
    comments    UInt64,
    likes       UInt64,
    engagement  UInt64,
    terms       Array(String)
)
ENGINE = VersionedCollapsingMergeTree(sign, version)
PARTITION BY toYYYYMM(hour)
ORDER BY (brand, hour, platform, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.brand_posts_mv TO {db}.brand_posts AS
SELECT brand, toStartOfHour(created_at) AS hour, platform, id, version, sign, created_at,
       if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) AS label,
       if(has(brand_sentiment_brands, brand), brand_sentiment_scores[indexOf(brand_sentiment_brands, brand)], sentiment_score) AS score,
       url, text, author_id, author_name, author_followers AS followers, reposts, comments, likes, reposts + comments + likes AS engagement,
       arrayDistinct(arrayFilter(t -> t != '' AND t != '##', arrayConcat(keywords, arrayMap(h -> concat('#', h, '#'), hashtags)))) AS terms
FROM {db}.posts_store
ARRAY JOIN brands AS brand;

-- Per brand × 5 minutes × platform × label: posts, reach (Σ author
-- followers), engagement (Σ reposts + comments + likes), Σ sentiment.
CREATE TABLE IF NOT EXISTS {db}.volume_5m_sum
(
    brand         String,
    bucket        DateTime('UTC'),
    platform      String,
    label         String,
    posts         Int64,
    reach         Int64,
    engagement    Int64,
    sentiment_sum Float64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (brand, bucket, platform, label);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.volume_5m_mv TO {db}.volume_5m_sum AS
SELECT brand, toStartOfFiveMinute(created_at) AS bucket, platform,
       if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) AS label,
       toInt64(sign) AS posts, toInt64(sign) * toInt64(author_followers) AS reach,
       toInt64(sign) * toInt64(reposts + comments + likes) AS engagement,
       sign * toFloat64(if(has(brand_sentiment_brands, brand), brand_sentiment_scores[indexOf(brand_sentiment_brands, brand)], sentiment_score)) AS sentiment_sum
FROM {db}.posts_store
ARRAY JOIN brands AS brand;

-- Per brand × hour × platform × term: posts carrying the term.
CREATE TABLE IF NOT EXISTS {db}.terms_1h_sum
(
    brand    String,
    hour     DateTime('UTC'),
    platform String,
    term     String,
    posts    Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (brand, hour, platform, term);

-- (ClickHouse 18.16 feeds a materialized view's block only to its outer
-- SELECT: the views here take no subquery.)
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.terms_1h_mv TO {db}.terms_1h_sum AS
SELECT brand, toStartOfHour(created_at) AS hour, platform,
       arrayJoin(arrayDistinct(arrayFilter(t -> t != '' AND t != '##', arrayConcat(keywords, arrayMap(h -> concat('#', h, '#'), hashtags))))) AS term,
       toInt64(sign) AS posts
FROM {db}.posts_store
ARRAY JOIN brands AS brand;

-- Per brand × hour × platform × author: posts, reach, engagement, the
-- author's sentiment toward the brand, and how many posts carry each
-- follower count (followersMap: the largest count with n > 0 is the
-- author's largest follower count in the group, exact under cancels).
CREATE TABLE IF NOT EXISTS {db}.authors_1h_sum
(
    brand         String,
    hour          DateTime('UTC'),
    platform      String,
    author_id     String,
    posts         Int64,
    reach         Int64,
    engagement    Int64,
    positive      Int64,
    neutral       Int64,
    negative      Int64,
    sentiment_sum Float64,
    followersMap  Nested(followers UInt64, n Int64)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (brand, hour, platform, author_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.authors_1h_mv TO {db}.authors_1h_sum AS
SELECT brand, toStartOfHour(created_at) AS hour, platform, author_id,
       toInt64(sign) AS posts, toInt64(sign) * toInt64(author_followers) AS reach,
       toInt64(sign) * toInt64(reposts + comments + likes) AS engagement,
       toInt64(sign) * toInt64(if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) = 'positive') AS positive,
       toInt64(sign) * toInt64(if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) = 'neutral') AS neutral,
       toInt64(sign) * toInt64(if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) = 'negative') AS negative,
       sign * toFloat64(if(has(brand_sentiment_brands, brand), brand_sentiment_scores[indexOf(brand_sentiment_brands, brand)], sentiment_score)) AS sentiment_sum,
       [author_followers] AS `followersMap.followers`, [toInt64(sign)] AS `followersMap.n`
FROM {db}.posts_store
ARRAY JOIN brands AS brand;

-- Per author and name: the latest observation that carried the name. An
-- author's name is the one of their latest observation (ties: the
-- greatest name), read as argMax(name, (version, name)).
CREATE TABLE IF NOT EXISTS {db}.authors
(
    platform  String,
    author_id String,
    name      String,
    version   UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (platform, author_id, name);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.authors_mv TO {db}.authors AS
SELECT platform, author_id, author_name AS name, version
FROM {db}.posts_store
WHERE sign = 1 AND author_id != '';

-- The analyst-facing relations.
CREATE VIEW IF NOT EXISTS {db}.posts AS
SELECT platform, id, kind, url, text, norm_text, own_text, created_at, ingested_at, enriched_at, inserted_at, source,
       author_id, author_name, author_followers, author_verified, author_verified_type, author_location,
       repost_of, reply_to, reposts, comments, likes, reads, tokens, keywords, hashtags, mentions, emoticons, urls, brands,
       sentiment_score, sentiment_label, brand_sentiment_brands, brand_sentiment_scores, brand_sentiment_labels, emotion, version
FROM {db}.posts_store FINAL
WHERE sign = 1;

CREATE VIEW IF NOT EXISTS {db}.volume_5m AS
SELECT brand, bucket, platform, label, toUInt64(n) AS posts, toUInt64(r) AS reach, toUInt64(e) AS engagement, s AS sentiment_sum
FROM (SELECT brand, bucket, platform, label, sum(posts) AS n, sum(reach) AS r, sum(engagement) AS e, sum(sentiment_sum) AS s
      FROM {db}.volume_5m_sum GROUP BY brand, bucket, platform, label)
WHERE n > 0;

CREATE VIEW IF NOT EXISTS {db}.terms_1h AS
SELECT brand, hour, platform, term, toUInt64(n) AS posts
FROM (SELECT brand, hour, platform, term, sum(posts) AS n FROM {db}.terms_1h_sum GROUP BY brand, hour, platform, term)
WHERE n > 0;

CREATE VIEW IF NOT EXISTS {db}.authors_1h AS
SELECT brand, hour, platform, author_id, author_name, toUInt64(arrayReduce('max', arrayFilter((f, c) -> c > 0, fm.1, fm.2))) AS followers,
       toUInt64(n) AS posts, toUInt64(r) AS reach, toUInt64(e) AS engagement, toUInt64(pos) AS positive, toUInt64(neu) AS neutral, toUInt64(neg) AS negative, s AS sentiment_sum
FROM (SELECT brand, hour, platform, author_id, sum(posts) AS n, sum(reach) AS r, sum(engagement) AS e,
             sum(positive) AS pos, sum(neutral) AS neu, sum(negative) AS neg, sum(sentiment_sum) AS s,
             sumMap(followersMap.followers, followersMap.n) AS fm
      FROM {db}.authors_1h_sum GROUP BY brand, hour, platform, author_id)
ANY LEFT JOIN (SELECT platform, author_id, argMax(name, tuple(version, name)) AS author_name FROM {db}.authors GROUP BY platform, author_id) USING (platform, author_id)
WHERE n > 0;

CREATE VIEW IF NOT EXISTS {db}.top_posts_1h AS
SELECT brand, hour, platform, id, version, label, created_at, url, text, author_id, author_name, followers,
       reposts, comments, likes, engagement
FROM {db}.brand_posts FINAL
WHERE sign = 1;

-- The latest observation of every post stored before this migration
-- (nothing when posts_store already holds rows: a migration run again).
INSERT INTO {db}.posts_store (platform, id, kind, url, text, norm_text, own_text, created_at, ingested_at, enriched_at, inserted_at, source,
       author_id, author_name, author_followers, author_verified, author_verified_type, author_location,
       repost_of, reply_to, reposts, comments, likes, reads, tokens, keywords, hashtags, mentions, emoticons, urls, brands,
       sentiment_score, sentiment_label, brand_sentiment_brands, brand_sentiment_scores, brand_sentiment_labels, emotion, version, sign)
SELECT platform, id, kind, url, text, norm_text, own_text, created_at, ingested_at, enriched_at, inserted_at, source,
       author_id, author_name, author_followers, author_verified, author_verified_type, author_location,
       repost_of, reply_to, reposts, comments, likes, reads, tokens, keywords, hashtags, mentions, emoticons, urls, brands,
       sentiment_score, sentiment_label, brand_sentiment_brands, brand_sentiment_scores, brand_sentiment_labels, emotion, version, toInt8(1)
FROM {db}.posts_store_v1 FINAL
WHERE (SELECT count() FROM {db}.posts_store) = 0;
