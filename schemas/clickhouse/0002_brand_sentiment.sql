-- Per-brand sentiment (post.Enriched.BrandSentiment): one entry per brand a
-- post scores separately ("可口可乐比百事好喝多了": 可口可乐 positive, 百事
-- negative); empty when the post names one brand or none. Three parallel
-- arrays rather than Nested so the writer can fill them as plain columns.
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: iwom migrate treats
-- "column already exists" from an ADD COLUMN as applied, so concurrent
-- migrations stay safe.
ALTER TABLE {db}.posts_store ADD COLUMN brand_sentiment_brands Array(String) AFTER sentiment_label;
ALTER TABLE {db}.posts_store ADD COLUMN brand_sentiment_scores Array(Float32) AFTER brand_sentiment_brands;
ALTER TABLE {db}.posts_store ADD COLUMN brand_sentiment_labels Array(String) AFTER brand_sentiment_scores;

-- A view's columns are fixed when it is created: re-create iwom.posts so
-- that SELECT * shows the new columns.
DROP TABLE IF EXISTS {db}.posts;
CREATE VIEW IF NOT EXISTS {db}.posts AS
SELECT * FROM {db}.posts_store FINAL;
