package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// BrandRow is one line of the per-brand summary.
type BrandRow struct {
	Brand    string  `json:"brand"`
	Posts    uint64  `json:"posts"`
	Positive uint64  `json:"positive"`
	Neutral  uint64  `json:"neutral"`
	Negative uint64  `json:"negative"`
	Net      float64 `json:"net_sentiment"` // (positive − negative) / posts
	Authors  uint64  `json:"authors"`
}

// BrandSummary counts posts per brand and sentiment label in db.posts
// (each post once), created at or after from (zero: all).
func BrandSummary(ctx context.Context, conn driver.Conn, db string, from time.Time) ([]BrandRow, error) {
	q := `SELECT brand, count() AS posts,
		countIf(sentiment_label = 'positive') AS positive,
		countIf(sentiment_label = 'neutral') AS neutral,
		countIf(sentiment_label = 'negative') AS negative,
		uniqExact(author_id) AS authors
	FROM ` + db + `.posts ARRAY JOIN brands AS brand
	WHERE created_at >= ?
	GROUP BY brand ORDER BY posts DESC, brand`
	rows, err := conn.Query(ctx, q, from.UTC())
	if err != nil {
		return nil, fmt.Errorf("querying brand summary: %w", err)
	}
	defer rows.Close()
	var out []BrandRow
	for rows.Next() {
		var r BrandRow
		if err := rows.Scan(&r.Brand, &r.Posts, &r.Positive, &r.Neutral, &r.Negative, &r.Authors); err != nil {
			return nil, fmt.Errorf("reading brand summary: %w", err)
		}
		if r.Posts > 0 {
			r.Net = (float64(r.Positive) - float64(r.Negative)) / float64(r.Posts)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
