package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/sinks/clickhouse/state"
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
	"brand_sentiment_brands", "brand_sentiment_scores", "brand_sentiment_labels", "sign",
}

// Change is what the writer stores for one post: its new live row, and the
// cancel row of the observation it replaces (Old nil for a new post).
type Change struct {
	New *post.Enriched
	Old *state.Record
}

// Writer inserts changes into <db>.posts_store, one INSERT per call: the
// cancel rows and the new rows of a batch land together, and the
// materialized views turn them into the rollups' contributions.
type Writer struct {
	Conn     driver.Conn
	Database string
	insert   string
}

// NewWriter builds a writer for database db.
func NewWriter(conn driver.Conn, db string) *Writer {
	return &Writer{Conn: conn, Database: db, insert: "INSERT INTO " + db + ".posts_store (" + strings.Join(Columns, ", ") + ")"}
}

// ErrNotSent marks a failed Write that sent no rows: nothing was stored.
var ErrNotSent = errors.New("no rows sent")

// RowError is a change the writer could not append to a batch (bad values).
type RowError struct {
	Index int
	Err   error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Index, e.Err) }

// Write stores changes in one INSERT. Changes whose values cannot be
// encoded are skipped and reported in bad (their indexes); err is the
// error of the insert as a whole (nil when the others are stored).
func (w *Writer) Write(ctx context.Context, changes []Change) (bad []RowError, err error) {
	batch, err := w.Conn.PrepareBatch(ctx, w.insert)
	if err != nil {
		return nil, fmt.Errorf("%w: preparing insert into %s.posts_store: %w", ErrNotSent, w.Database, err)
	}
	n := 0
	for i, c := range changes {
		if verr := Storable(c.New); verr != nil {
			bad = append(bad, RowError{i, verr})
			continue
		}
		if aerr := batch.Append(values(c.New)...); aerr != nil {
			// The driver may have appended part of the row: the batch is
			// unusable, so the caller bisects.
			_ = batch.Abort()
			return bad, fmt.Errorf("%w: appending row %s: %v", errAppend, c.New.Key(), aerr)
		}
		if c.Old != nil {
			if aerr := batch.Append(cancelValues(c.New.Platform, c.New.ID, c.Old)...); aerr != nil {
				_ = batch.Abort()
				return bad, fmt.Errorf("%w: appending the cancel row of %s: %v", errAppend, c.New.Key(), aerr)
			}
		}
		n++
	}
	if n == 0 {
		_ = batch.Abort()
		return bad, nil
	}
	if err := batch.Send(); err != nil {
		return bad, fmt.Errorf("inserting %d posts into %s.posts_store: %w", n, w.Database, err)
	}
	return bad, nil
}

// Insert stores rows as new posts (no cancel rows): for bulk loads into a
// database that holds none of them.
func (w *Writer) Insert(ctx context.Context, rows []*post.Enriched) ([]RowError, error) {
	cs := make([]Change, len(rows))
	for i, r := range rows {
		cs[i] = Change{New: r}
	}
	return w.Write(ctx, cs)
}

// maxDateTime is the last second ClickHouse's DateTime holds.
const maxDateTime = 1<<32 - 1

// Storable reports why e cannot be stored as a row (nil when it can):
// times outside ClickHouse's DateTime (1970 to 2106) would be stored as
// other dates.
func Storable(e *post.Enriched) error {
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"created_at", e.CreatedAt}, {"ingested_at", e.IngestedAt}, {"enriched_at", e.EnrichedAt}} {
		if t.v.IsZero() {
			continue
		}
		if s := t.v.Unix(); s < 0 || s > maxDateTime {
			return fmt.Errorf("%w: %s %s is outside ClickHouse DateTime (1970-01-01 to 2106-02-07)", post.ErrInvalid, t.name, t.v.UTC().Format(time.RFC3339))
		}
	}
	return nil
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
		bsBrands, bsScores, bsLabels, int8(1),
	}
}

// cancelValues is the cancel row of a stored observation: its key and
// version, sign -1, and the columns the rollups read; the others are empty
// (the row collapses with the one it cancels and is never read alone).
func cancelValues(platform, id string, r *state.Record) []any {
	zero := time.Unix(0, 0).UTC()
	return []any{
		platform, id, "", "", "", "", "",
		time.Unix(int64(r.CreatedAt), 0).UTC(), zero, zero, "",
		r.AuthorID, "", r.Followers, uint8(0), int16(0), "",
		"", "", r.Reposts, r.Comments, r.Likes, uint64(0),
		[]string{}, nn(r.Keywords), nn(r.Hashtags), []string{}, []string{}, []string{}, nn(r.Brands),
		r.Score, r.Label, "", r.Version,
		nn(r.BSBrands), nnf(r.BSScores), nn(r.BSLabels), int8(-1),
	}
}

// RecordOf is the state the sink keeps of e once stored.
func RecordOf(e *post.Enriched) state.Record {
	r := state.Record{
		Version: rowVersion(e), CreatedAt: uint32(utc(e.CreatedAt).Unix()),
		Brands: nn(e.Brands), Label: e.Sentiment.Label, Score: float32(e.Sentiment.Score),
		AuthorID: e.Author.ID, Followers: uint64(e.Author.Followers),
		Reposts: uint64(e.Metrics.Reposts), Comments: uint64(e.Metrics.Comments), Likes: uint64(e.Metrics.Likes),
		Keywords: nn(e.Keywords), Hashtags: nn(e.Hashtags),
	}
	for _, bs := range e.BrandSentiment {
		r.BSBrands = append(r.BSBrands, bs.Brand)
		r.BSScores = append(r.BSScores, float32(bs.Score))
		r.BSLabels = append(r.BSLabels, bs.Label)
	}
	return r
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

func nnf(s []float32) []float32 {
	if s == nil {
		return []float32{}
	}
	return s
}
