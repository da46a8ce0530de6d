package clickhouse

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Mismatch is a rollup group whose values differ from a direct count on
// iwom.posts (Want) — or that exists on one side only (empty Want or Got).
type Mismatch struct {
	Rollup string
	Key    string
	Want   string
	Got    string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s %s: iwom.posts %s, rollup %s", m.Rollup, m.Key, orNone(m.Want), orNone(m.Got))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// checkQueries are, per rollup view, a direct query on <db>.posts and the
// same figures read from the rollup, each returning (key String, values
// Array(Float64)) for posts created in [?, ?). They are written
// independently of the builder's SQL on purpose.
var checkQueries = []struct{ name, want, got string }{
	{"volume_5m",
		`SELECT concat(brand, '|', toString(bucket), '|', platform, '|', label) AS k,
			[toFloat64(count()), toFloat64(sum(author_followers)), toFloat64(sum(reposts + comments + likes)), sum(toFloat64(score))] AS v
		FROM (SELECT brand, toStartOfFiveMinute(created_at) AS bucket, platform,
				if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) AS label,
				if(has(brand_sentiment_brands, brand), brand_sentiment_scores[indexOf(brand_sentiment_brands, brand)], sentiment_score) AS score,
				author_id, author_followers, reposts, comments, likes
			FROM {db}.posts ARRAY JOIN brands AS brand WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?))
		GROUP BY brand, bucket, platform, label`,
		`SELECT concat(brand, '|', toString(bucket), '|', platform, '|', label) AS k,
			[toFloat64(sum(posts)), toFloat64(sum(reach)), toFloat64(sum(engagement)), sum(sentiment_sum)] AS v
		FROM {db}.volume_5m WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?)
		GROUP BY brand, bucket, platform, label`},
	{"terms_1h",
		`SELECT concat(brand, '|', toString(toStartOfHour(created_at)), '|', platform, '|', term) AS k, [toFloat64(count())] AS v
		FROM (SELECT brand, created_at, platform,
				arrayDistinct(arrayFilter(t -> t != '' AND t != '##', arrayConcat(keywords, arrayMap(h -> concat('#', h, '#'), hashtags)))) AS terms
			FROM {db}.posts ARRAY JOIN brands AS brand WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?))
		ARRAY JOIN terms AS term
		GROUP BY k`,
		`SELECT concat(brand, '|', toString(hour), '|', platform, '|', term) AS k, [toFloat64(sum(posts))] AS v
		FROM {db}.terms_1h WHERE hour >= toDateTime(?) AND hour < toDateTime(?) GROUP BY k`},
	{"authors_1h",
		`SELECT concat(brand, '|', toString(toStartOfHour(created_at)), '|', platform, '|', author_id) AS k,
			[toFloat64(count()), toFloat64(max(author_followers)), toFloat64(sum(author_followers)), toFloat64(sum(reposts + comments + likes)),
			 toFloat64(countIf(label = 'positive')), toFloat64(countIf(label = 'neutral')), toFloat64(countIf(label = 'negative')), sum(toFloat64(score))] AS v
		FROM (SELECT brand, created_at, platform, author_id, author_followers, reposts, comments, likes,
				if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) AS label,
				if(has(brand_sentiment_brands, brand), brand_sentiment_scores[indexOf(brand_sentiment_brands, brand)], sentiment_score) AS score
			FROM {db}.posts ARRAY JOIN brands AS brand WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?))
		GROUP BY k`,
		`SELECT concat(brand, '|', toString(hour), '|', platform, '|', author_id) AS k,
			[toFloat64(sum(posts)), toFloat64(max(followers)), toFloat64(sum(reach)), toFloat64(sum(engagement)),
			 toFloat64(sum(positive)), toFloat64(sum(neutral)), toFloat64(sum(negative)), sum(sentiment_sum)] AS v
		FROM {db}.authors_1h WHERE hour >= toDateTime(?) AND hour < toDateTime(?) GROUP BY k`},
	{"authors",
		`SELECT concat(platform, '|', author_id) AS k, [toFloat64(cityHash64(argMax(author_name, tuple(version, author_name))))] AS v
		FROM {db}.posts WHERE (platform, author_id) IN (SELECT platform, author_id FROM {db}.posts WHERE author_id != '' AND created_at >= toDateTime(?) AND created_at < toDateTime(?))
		GROUP BY k`,
		`SELECT concat(platform, '|', author_id) AS k, [toFloat64(cityHash64(argMax(name, tuple(version, name))))] AS v
		FROM {db}.authors WHERE (platform, author_id) IN (SELECT platform, author_id FROM {db}.posts WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?))
		GROUP BY k`},
	{"brand_posts",
		`SELECT concat(brand, '|', toString(toStartOfHour(created_at)), '|', platform, '|', id, '|', label) AS k,
			[toFloat64(reposts), toFloat64(comments), toFloat64(likes), toFloat64(author_followers), toFloat64(version), toFloat64(cityHash64(text))] AS v
		FROM (SELECT brand, created_at, platform, id, reposts, comments, likes, author_followers, version, text,
				if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) AS label
			FROM {db}.posts ARRAY JOIN brands AS brand WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?))`,
		`SELECT concat(brand, '|', toString(hour), '|', platform, '|', id, '|', label) AS k,
			[toFloat64(reposts), toFloat64(comments), toFloat64(likes), toFloat64(followers), toFloat64(version), toFloat64(cityHash64(text))] AS v
		FROM {db}.top_posts_1h WHERE hour >= toDateTime(?) AND hour < toDateTime(?)`},
}

// CheckRollups compares every rollup with direct queries on <db>.posts for
// the posts created in [from, to) (whole hours; zero from and to: all) and
// returns the groups that differ. Sentiment sums are compared to 1e-3.
func CheckRollups(ctx context.Context, conn driver.Conn, db string, from, to time.Time) ([]Mismatch, error) {
	if from.IsZero() {
		from = time.Unix(0, 0)
	}
	if to.IsZero() {
		to = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) // DateTime ends in 2106
	}
	from, to = from.UTC().Truncate(time.Hour), to.UTC().Add(time.Hour-1).Truncate(time.Hour)
	var out []Mismatch
	for _, c := range checkQueries {
		want, err := keyed(ctx, conn, strings.ReplaceAll(c.want, "{db}", db), from, to)
		if err != nil {
			return nil, fmt.Errorf("checking %s: counting on %s.posts: %w", c.name, db, err)
		}
		got, err := keyed(ctx, conn, strings.ReplaceAll(c.got, "{db}", db), from, to)
		if err != nil {
			return nil, fmt.Errorf("checking %s: reading the rollup: %w", c.name, err)
		}
		keys := make([]string, 0, len(want)+len(got))
		for k := range want {
			keys = append(keys, k)
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			w, g := want[k], got[k]
			if !sameValues(w, g) {
				out = append(out, Mismatch{Rollup: c.name, Key: k, Want: fmtValues(w), Got: fmtValues(g)})
			}
		}
	}
	return out, nil
}

func keyed(ctx context.Context, conn driver.Conn, q string, from, to time.Time) (map[string][]float64, error) {
	args := []any{}
	for i := 0; i < strings.Count(q, "?")/2; i++ {
		args = append(args, from.Unix(), to.Unix())
	}
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]float64{}
	for rows.Next() {
		var k string
		var v []float64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-3*math.Max(1, math.Abs(a[i])) {
			return false
		}
	}
	return true
}

func fmtValues(v []float64) string {
	if v == nil {
		return ""
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%g", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
