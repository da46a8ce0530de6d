package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/iwom/iwom/pipeline/post"
)

// Columns of posts_store that the writer fills, in order. The explicit
// column list is required by ClickHouse 18.16 for native batches.
var Columns = []string{
	"platform", "id", "kind", "url", "text", "norm_text", "own_text",
	"created_at", "ingested_at", "enriched_at", "source",
	"author_id", "author_name", "author_followers", "author_verified", "author_verified_type", "author_location",
	"repost_of", "reply_to", "reposts", "comments", "likes", "reads",
	"tokens", "keywords", "hashtags", "mentions", "emoticons", "urls", "brands",
	"sentiment_score", "sentiment_label", "emotion", "version",
	"brand_sentiment_brands", "brand_sentiment_scores", "brand_sentiment_labels",
}

// Writer inserts enriched posts into <db>.posts_store.
type Writer struct {
	Conn     driver.Conn
	Database string
	insert   string
}

// NewWriter builds a writer for database db.
func NewWriter(conn driver.Conn, db string) *Writer {
	return &Writer{Conn: conn, Database: db, insert: "INSERT INTO " + db + ".posts_store (" + strings.Join(Columns, ", ") + ")"}
}

// RowError is a row the writer could not append to a batch (bad values).
type RowError struct {
	Index int
	Err   error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Index, e.Err) }

// Insert writes rows in one batch. Rows whose values cannot be encoded are
// skipped and reported in bad (their indexes into rows); err is the error of
// the batch as a whole (nil when the others are stored).
func (w *Writer) Insert(ctx context.Context, rows []*post.Enriched) (bad []RowError, err error) {
	batch, err := w.Conn.PrepareBatch(ctx, w.insert)
	if err != nil {
		return nil, fmt.Errorf("preparing insert into %s.posts_store: %w", w.Database, err)
	}
	n := 0
	for i, e := range rows {
		if aerr := batch.Append(values(e)...); aerr != nil {
			bad = append(bad, RowError{i, aerr})
			continue
		}
		n++
	}
	if n == 0 {
		_ = batch.Abort()
		return bad, nil
	}
	if err := batch.Send(); err != nil {
		return bad, fmt.Errorf("inserting %d rows into %s.posts_store: %w", n, w.Database, err)
	}
	return bad, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

func values(e *post.Enriched) []any {
	verified := uint8(0)
	if e.Author.Verified {
		verified = 1
	}
	kind := e.Kind
	if kind == "" {
		kind = "post"
	}
	bsBrands := make([]string, len(e.BrandSentiment))
	bsScores := make([]float32, len(e.BrandSentiment))
	bsLabels := make([]string, len(e.BrandSentiment))
	for i, bs := range e.BrandSentiment {
		bsBrands[i], bsScores[i], bsLabels[i] = bs.Brand, float32(bs.Score), bs.Label
	}
	version := rowVersion(e)
	return []any{
		e.Platform, e.ID, kind, e.URL, e.Text, e.NormText, e.OwnText,
		utc(e.CreatedAt), utc(e.IngestedAt), utc(e.EnrichedAt), e.Source,
		e.Author.ID, e.Author.Name, uint64(e.Author.Followers), verified, int16(e.Author.VerifiedType), e.Author.Location,
		e.RepostOf, e.ReplyTo, uint64(e.Metrics.Reposts), uint64(e.Metrics.Comments), uint64(e.Metrics.Likes), uint64(e.Metrics.Reads),
		nn(e.Tokens), nn(e.Keywords), nn(e.Hashtags), nn(e.Mentions), nn(e.Emoticons), nn(e.URLs), nn(e.Brands),
		float32(e.Sentiment.Score), e.Sentiment.Label, e.Sentiment.Emotion, version,
		bsBrands, bsScores, bsLabels,
	}
}

// rowVersion is the row's version: its observation time (ingested_at) in
// nanoseconds, 0 when unknown.
func rowVersion(e *post.Enriched) uint64 {
	if !e.IngestedAt.IsZero() && e.IngestedAt.UnixNano() > 0 {
		return uint64(e.IngestedAt.UnixNano())
	}
	return 0
}

func nn(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
