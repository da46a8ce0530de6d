package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The rollups are SummingMergeTree tables fed by materialized views on
// posts_store (schemas/clickhouse/0005_ledger.sql): every row the sink
// inserts adds its sign-weighted contribution, and because the sink
// cancels (-1) exactly the observation it replaces, the sums over a group
// equal a direct count on iwom.posts. A group's rows are summed at read
// time (and by background merges), never read with FINAL. brand_posts
// holds each post's live row per brand it names, for top posts, term
// filters and the partial buckets at the edges of a report's window.

// Rollup describes one summed rollup table.
type Rollup struct {
	// Table is the SummingMergeTree, e.g. "volume_5m_sum".
	Table string
	// View is the analyst-facing view (sums per group, empty groups
	// dropped).
	View string
	// Grain is the width of the time bucket (5m or 1h).
	Grain time.Duration
	// Time is the bucket column ("bucket" or "hour").
	Time string
	// Key lists the dimensions in sorting-key order.
	Key []string
	// Values lists the summed columns.
	Values []string
	// Maps lists the columns of a summed map (keys, then counts), if any.
	Maps []string
	// Columns is Key, Values, then Maps.
	Columns []string
	// rows selects Columns from a relation of live brand rows (brand_posts'
	// columns, with sign).
	rows func(from string) string
}

func rollup(r Rollup) Rollup {
	r.Columns = append(append(append([]string(nil), r.Key...), r.Values...), r.Maps...)
	return r
}

// Rollups, in the order check and repair visit them.
var (
	Volume = rollup(Rollup{
		Table: "volume_5m_sum", View: "volume_5m", Grain: 5 * time.Minute, Time: "bucket",
		Key:    []string{"brand", "bucket", "platform", "label"},
		Values: []string{"posts", "reach", "engagement", "sentiment_sum"},
		rows: func(from string) string {
			return `SELECT brand, toStartOfFiveMinute(created_at) AS bucket, platform, label,
	sum(toInt64(sign)) AS posts, sum(toInt64(sign) * toInt64(followers)) AS reach,
	sum(toInt64(sign) * toInt64(reposts + comments + likes)) AS engagement, sum(sign * toFloat64(score)) AS sentiment_sum
FROM ` + from + `
GROUP BY brand, bucket, platform, label`
		},
	})
	Terms = rollup(Rollup{
		Table: "terms_1h_sum", View: "terms_1h", Grain: time.Hour, Time: "hour",
		Key:    []string{"brand", "hour", "platform", "term"},
		Values: []string{"posts"},
		rows: func(from string) string {
			return `SELECT brand, toStartOfHour(created_at) AS hour, platform, term, sum(toInt64(sign)) AS posts
FROM ` + from + `
ARRAY JOIN terms AS term
GROUP BY brand, hour, platform, term`
		},
	})
	Authors = rollup(Rollup{
		Table: "authors_1h_sum", View: "authors_1h", Grain: time.Hour, Time: "hour",
		Key:    []string{"brand", "hour", "platform", "author_id"},
		Values: []string{"posts", "reach", "engagement", "positive", "neutral", "negative", "sentiment_sum"},
		Maps:   []string{"followersMap.followers", "followersMap.n"},
		rows: func(from string) string {
			return `SELECT brand, toStartOfHour(created_at) AS hour, platform, author_id,
	sum(toInt64(sign)) AS posts, sum(toInt64(sign) * toInt64(followers)) AS reach,
	sum(toInt64(sign) * toInt64(reposts + comments + likes)) AS engagement,
	sum(toInt64(sign) * toInt64(label = 'positive')) AS positive, sum(toInt64(sign) * toInt64(label = 'neutral')) AS neutral,
	sum(toInt64(sign) * toInt64(label = 'negative')) AS negative, sum(sign * toFloat64(score)) AS sentiment_sum,
	sumMap([followers], [toInt64(sign)]) AS fm, fm.1 AS ` + "`followersMap.followers`" + `, fm.2 AS ` + "`followersMap.n`" + `
FROM ` + from + `
GROUP BY brand, hour, platform, author_id`
		},
	})
	// All is every summed rollup.
	All = []Rollup{Volume, Terms, Authors}
)

// TopK is the largest top-N the top-posts report answers.
const TopK = 20

// TopMetrics are the orders top posts can be ranked by.
var TopMetrics = []string{"reposts", "comments", "engagement"}

// Span is [From, To).
type Span struct{ From, To time.Time }

// SpanCond is a condition on brand_posts selecting the posts created in
// spans: on hour (its sorting key, so ClickHouse reads only those hours)
// and on created_at. Times are written as numbers.
func SpanCond(spans []Span) string {
	var conds []string
	for _, s := range spans {
		lo, hi := s.From.Truncate(time.Hour), s.To
		conds = append(conds, fmt.Sprintf("(hour >= toDateTime(%d) AND hour < toDateTime(%d) AND created_at >= toDateTime(%d) AND created_at < toDateTime(%d))",
			lo.Unix(), hi.Unix(), s.From.Unix(), s.To.Unix()))
	}
	if len(conds) == 0 {
		return "0"
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// EdgeSQL selects r's Columns computed from brand_posts for the posts
// created in spans whose rows meet filter (a condition on brand and
// platform that may hold ? placeholders; it appears once): what the
// rollup holds for them, for windows that do not fill whole buckets.
func (r Rollup) EdgeSQL(db string, spans []Span, filter string) string {
	where := SpanCond(spans)
	if filter != "" {
		where += " AND " + filter
	}
	return r.rows("(SELECT * FROM " + db + ".brand_posts WHERE " + where + ")")
}

// livePostsSQL is the MV's view of the live rows of posts_store created
// when cond holds: one row per post and brand, as brand_posts has them,
// with sign 1.
func livePostsSQL(db, cond string) string {
	return `SELECT brand, toStartOfHour(created_at) AS hour, platform, id, version, toInt8(1) AS sign, created_at,
	if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label) AS label,
	if(has(brand_sentiment_brands, brand), brand_sentiment_scores[indexOf(brand_sentiment_brands, brand)], sentiment_score) AS score,
	url, text, author_id, author_name, author_followers AS followers, reposts, comments, likes, reposts + comments + likes AS engagement,
	arrayDistinct(arrayFilter(t -> t != '' AND t != '##', arrayConcat(keywords, arrayMap(h -> concat('#', h, '#'), hashtags)))) AS terms
FROM (SELECT * FROM ` + db + `.posts_store FINAL WHERE sign = 1 AND ` + cond + `)
ARRAY JOIN brands AS brand`
}

// brandPostColumns are brand_posts' columns in insert order.
var brandPostColumns = []string{"brand", "hour", "platform", "id", "version", "sign", "created_at", "label", "score", "url", "text",
	"author_id", "author_name", "followers", "reposts", "comments", "likes", "engagement", "terms"}

// HoursCond is a condition on created_at selecting the given hours (UTC
// hour starts), with literal values (no placeholders).
func HoursCond(hours []time.Time) string {
	if len(hours) == 0 {
		return "0"
	}
	lo, hi := hours[0], hours[0]
	ids := make([]string, len(hours))
	for i, h := range hours {
		if h.Before(lo) {
			lo = h
		}
		if h.After(hi) {
			hi = h
		}
		ids[i] = strconv.FormatInt(h.Unix(), 10)
	}
	return fmt.Sprintf("created_at >= toDateTime(%d) AND created_at < toDateTime(%d) AND toUInt32(toStartOfHour(created_at)) IN (%s)",
		lo.Unix(), hi.Add(time.Hour).Unix(), strings.Join(ids, ", "))
}

// Hours returns the distinct UTC hours of ts, sorted.
func Hours(ts []time.Time) []time.Time {
	seen := map[int64]bool{}
	var out []time.Time
	for _, t := range ts {
		h := t.UTC().Truncate(time.Hour)
		if !seen[h.Unix()] {
			seen[h.Unix()] = true
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Repair makes brand_posts and every rollup equal, for the posts created
// in hours, to what the live rows of posts_store give: it inserts the
// difference (rows that restore the right sums), so it is idempotent and
// needs no rewrite of what is right. It returns how many corrections it
// wrote. A writer inserting into the same hours at the same time can make
// a difference wrong: the sink repairs only between its own batches, and
// `iwom report rebuild` is meant for a quiet moment (`iwom report check`
// tells).
func Repair(ctx context.Context, conn driver.Conn, db string, hours []time.Time) (int, error) {
	hs := Hours(hours)
	total := 0
	for len(hs) > 0 {
		n := min(24, len(hs))
		c, err := repair(ctx, conn, db, hs[:n])
		if err != nil {
			return total, err
		}
		total += c
		hs = hs[n:]
	}
	return total, nil
}

func repair(ctx context.Context, conn driver.Conn, db string, hours []time.Time) (int, error) {
	cond := HoursCond(hours)
	hourCond := strings.ReplaceAll(cond, "created_at", "hour")
	total := 0
	count := func(q string) (uint64, error) {
		var n uint64
		err := conn.QueryRow(ctx, "SELECT count() FROM ("+q+")").Scan(&n)
		return n, err
	}
	// brand_posts: each (brand, hour, platform, id, version) must sum to 1
	// when the post's live row has it, else to 0.
	cols := strings.Join(brandPostColumns, ", ")
	diff := `SELECT ` + cols + `, d FROM (
	SELECT brand, hour, platform, id, version, want, got, want - got AS d,
		w_created_at, w_label, w_score, w_url, w_text, w_author_id, w_author_name, w_followers, w_reposts, w_comments, w_likes, w_engagement, w_terms,
		g_created_at, g_label, g_score, g_author_id, g_followers, g_reposts, g_comments, g_likes, g_engagement, g_terms
	FROM (
		SELECT brand, hour, platform, id, version, toInt64(1) AS want, created_at AS w_created_at, label AS w_label, score AS w_score, url AS w_url, text AS w_text,
			author_id AS w_author_id, author_name AS w_author_name, followers AS w_followers, reposts AS w_reposts, comments AS w_comments, likes AS w_likes,
			engagement AS w_engagement, terms AS w_terms
		FROM (` + livePostsSQL(db, cond) + `)
	) ALL FULL OUTER JOIN (
		SELECT brand, hour, platform, id, version, sum(toInt64(sign)) AS got, any(created_at) AS g_created_at, any(label) AS g_label, any(score) AS g_score,
			any(author_id) AS g_author_id, any(followers) AS g_followers, any(reposts) AS g_reposts, any(comments) AS g_comments, any(likes) AS g_likes,
			any(engagement) AS g_engagement, any(terms) AS g_terms
		FROM ` + db + `.brand_posts WHERE ` + hourCond + `
		GROUP BY brand, hour, platform, id, version
	) USING (brand, hour, platform, id, version)
	WHERE d != 0
)`
	fix := `SELECT brand, hour, platform, id, version, toInt8(if(d > 0, 1, -1)) AS sign,
	if(d > 0, w_created_at, g_created_at) AS created_at, if(d > 0, w_label, g_label) AS label, if(d > 0, w_score, g_score) AS score,
	if(d > 0, w_url, '') AS url, if(d > 0, w_text, '') AS text, if(d > 0, w_author_id, g_author_id) AS author_id, if(d > 0, w_author_name, '') AS author_name,
	if(d > 0, w_followers, g_followers) AS followers, if(d > 0, w_reposts, g_reposts) AS reposts, if(d > 0, w_comments, g_comments) AS comments,
	if(d > 0, w_likes, g_likes) AS likes, if(d > 0, w_engagement, g_engagement) AS engagement, if(d > 0, w_terms, g_terms) AS terms
FROM (` + strings.Replace(diff, "SELECT "+cols+", d FROM (", "SELECT * FROM (", 1) + `)
ARRAY JOIN range(toUInt64(abs(d))) AS _n`
	n, err := count(fix)
	if err != nil {
		return total, fmt.Errorf("comparing %s.brand_posts with posts_store: %w", db, err)
	}
	if n > 0 {
		if err := conn.Exec(ctx, "INSERT INTO "+db+".brand_posts ("+cols+")\n"+fix); err != nil {
			return total, fmt.Errorf("repairing %s.brand_posts: %w", db, err)
		}
		total += int(n)
	}
	// authors: the latest observation of each author's names
	// (ReplacingMergeTree: writing the live rows again changes nothing).
	if err := conn.Exec(ctx, "INSERT INTO "+db+".authors (platform, author_id, name, version)\n"+
		"SELECT platform, author_id, author_name, version FROM "+db+".posts_store FINAL WHERE sign = 1 AND author_id != '' AND "+cond); err != nil {
		return total, fmt.Errorf("repairing %s.authors: %w", db, err)
	}
	// Each summed rollup: insert want - got for the groups that differ.
	live := "(" + livePostsSQL(db, cond) + ")"
	for _, r := range All {
		keys := strings.Join(r.Key, ", ")
		var sel, differ []string
		for _, v := range r.Values {
			sel = append(sel, "w_"+v+" - g_"+v+" AS "+v)
			if v == "sentiment_sum" {
				differ = append(differ, "abs(w_"+v+" - g_"+v+") > 1e-6")
			} else {
				differ = append(differ, "w_"+v+" != g_"+v)
			}
		}
		var wcols, gcols []string
		for _, v := range r.Values {
			wcols = append(wcols, v+" AS w_"+v)
			gcols = append(gcols, "sum("+v+") AS g_"+v)
		}
		if len(r.Maps) == 2 {
			// Insert the wanted counts and the stored ones negated: the
			// table sums them by key.
			k, c := "`"+r.Maps[0]+"`", "`"+r.Maps[1]+"`"
			wcols = append(wcols, k+" AS w_mk", c+" AS w_mc")
			gcols = append(gcols, "sumMap("+k+", "+c+") AS g_m")
			sel = append(sel, "arrayConcat(w_mk, g_m.1) AS "+k, "arrayConcat(w_mc, arrayMap(x -> -x, g_m.2)) AS "+c)
			differ = append(differ, "w_mk != arrayFilter((x, n) -> n != 0, g_m.1, g_m.2) OR w_mc != arrayFilter(n -> n != 0, g_m.2)")
		}
		q := `SELECT ` + keys + `, ` + strings.Join(sel, ", ") + `
FROM (SELECT ` + keys + `, ` + strings.Join(wcols, ", ") + ` FROM (` + r.rows(live) + `))
ALL FULL OUTER JOIN (SELECT ` + keys + `, ` + strings.Join(gcols, ", ") + ` FROM ` + db + `.` + r.Table + ` WHERE ` +
			strings.ReplaceAll(cond, "created_at", r.Time) + ` GROUP BY ` + keys + `) USING (` + keys + `)
WHERE ` + strings.Join(differ, " OR ")
		n, err := count(q)
		if err != nil {
			return total, fmt.Errorf("comparing %s.%s with posts_store: %w", db, r.Table, err)
		}
		if n == 0 {
			continue
		}
		if err := conn.Exec(ctx, "INSERT INTO "+db+"."+r.Table+" ("+strings.Join(r.Columns, ", ")+")\n"+q); err != nil {
			return total, fmt.Errorf("repairing %s.%s: %w", db, r.Table, err)
		}
		total += int(n)
	}
	return total, nil
}

// RepairRange repairs every hour in [from, to) that holds posts or rollup
// rows, and returns how many hours and corrections.
func RepairRange(ctx context.Context, conn driver.Conn, db string, from, to time.Time) (hours, fixed int, err error) {
	if from.Before(time.Unix(0, 0)) {
		from = time.Unix(0, 0)
	}
	q := "SELECT DISTINCT hour FROM (SELECT toStartOfHour(created_at) AS hour FROM " + db + ".posts_store WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?)" +
		" UNION ALL SELECT hour FROM " + db + ".brand_posts WHERE hour >= toDateTime(?) AND hour < toDateTime(?)) ORDER BY hour"
	rows, err := conn.Query(ctx, q, from.Unix(), to.Unix(), from.Truncate(time.Hour).Unix(), to.Unix())
	if err != nil {
		return 0, 0, fmt.Errorf("listing hours to repair: %w", err)
	}
	var hs []time.Time
	for rows.Next() {
		var h time.Time
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("listing hours to repair: %w", err)
		}
		hs = append(hs, h.UTC())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("listing hours to repair: %w", err)
	}
	fixed, err = Repair(ctx, conn, db, hs)
	return len(hs), fixed, err
}
