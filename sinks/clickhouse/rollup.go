package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/iwom/iwom/pipeline/post"
)

// The rollups are exact aggregates of iwom.posts per time bucket. They are
// not fed by materialized views: a view on posts_store fires for every
// inserted block, so a post delivered twice (after JetStream's duplicate
// window, or when a batch whose first insert did succeed is retried) would
// be counted twice, and a re-observed post's new engagement would be added
// to the old. Instead the sink, after each insert and before it acks the
// batch, rebuilds the hours the batch touched from the latest observation
// of each post (posts_by_time, de-duplicated like iwom.posts) and writes
// the result into ReplacingMergeTree tables keyed by the rollup dimensions,
// with a new build version. Rebuilding is idempotent, so redelivery,
// retries, replays and restarts cannot double-count; and because the ack
// waits for the rebuild, a crash between insert and rebuild is redelivered
// and rebuilt. Inserts made outside the sink are caught by the sweep:
// every insert into posts_store marks its hours in rollup_dirty (a
// materialized view), and Sweep rebuilds the hours whose marks are newer
// than their last rebuild.

// Rollup describes one rollup table: its store, its dimensions (the
// sorting key) and the SQL that computes its rows from posts.
type Rollup struct {
	// Table is the ReplacingMergeTree store, e.g. "volume_5m_store".
	Table string
	// View is the analyst-facing view over Table (FINAL, live rows).
	View string
	// Grain is the width of the time bucket (5m or 1h).
	Grain time.Duration
	// Time is the bucket column ("bucket" or "hour").
	Time string
	// Key lists the dimensions in sorting-key order.
	Key []string
	// Columns lists every column in insert order (Key, build, values).
	Columns []string
	// Live is the condition a current (non-tombstone) row meets.
	Live string
	// zero holds the values of a tombstone's non-key columns after build.
	zero string
	rows func(db, cond, filter, build string) string
}

// RowsSQL returns a SELECT of the rollup's Columns computed directly from
// the posts (latest observations) whose created_at meets cond (a SQL
// condition on created_at, with literal values) and, when filter is not
// empty, whose (brand, platform) rows meet filter (it may hold ?
// placeholders: it appears once in the result), with build 0. The builder
// inserts exactly this for whole hours; reports use it for the parts of a
// window that do not fill a whole bucket.
func (r Rollup) RowsSQL(db, cond, filter string) string { return r.rows(db, cond, filter, "0") }

// Rollups, in the order the builder writes them.
var (
	Volume = Rollup{
		Table: "volume_5m_store", View: "volume_5m", Grain: 5 * time.Minute, Time: "bucket",
		Key:     []string{"brand", "bucket", "platform", "label"},
		Columns: []string{"brand", "bucket", "platform", "label", "build", "posts", "authors", "reach", "engagement", "sentiment_sum"},
		Live:    "posts > 0",
		zero:    "0, arrayReduce('uniqExactState', emptyArrayString()), 0, 0, 0",
		rows: func(db, cond, filter, build string) string {
			return `SELECT brand, toStartOfFiveMinute(created_at) AS bucket, platform, blabel AS label, toUInt64(` + build + `) AS build,
	count() AS posts, uniqExactState(p_author_id) AS authors, sum(p_author_followers) AS reach,
	sum(p_reposts + p_comments + p_likes) AS engagement, sum(toFloat64(bscore)) AS sentiment_sum
FROM (` + brandPostsSQL(db, cond, filter, "author_id", "author_followers", "reposts", "comments", "likes") + `)
GROUP BY brand, bucket, platform, label`
		},
	}
	Terms = Rollup{
		Table: "terms_1h_store", View: "terms_1h", Grain: time.Hour, Time: "hour",
		Key:     []string{"brand", "hour", "platform", "term"},
		Columns: []string{"brand", "hour", "platform", "term", "build", "posts"},
		Live:    "posts > 0",
		zero:    "0",
		rows: func(db, cond, filter, build string) string {
			return `SELECT brand, hour, platform, term, toUInt64(` + build + `) AS build, count() AS posts
FROM (
	SELECT brand, toStartOfHour(created_at) AS hour, platform, ` + TermsExpr("p_keywords", "p_hashtags") + ` AS terms
	FROM (` + brandPostsSQL(db, cond, filter, "keywords", "hashtags") + `)
) ARRAY JOIN terms AS term
GROUP BY brand, hour, platform, term`
		},
	}
	Authors = Rollup{
		Table: "authors_1h_store", View: "authors_1h", Grain: time.Hour, Time: "hour",
		Key: []string{"brand", "hour", "platform", "author_id"},
		Columns: []string{"brand", "hour", "platform", "author_id", "build", "author_name", "followers", "posts", "reach", "engagement",
			"positive", "neutral", "negative", "sentiment_sum"},
		Live: "posts > 0",
		zero: "'', 0, 0, 0, 0, 0, 0, 0, 0",
		rows: func(db, cond, filter, build string) string {
			return `SELECT brand, toStartOfHour(created_at) AS hour, platform, p_author_id AS author_id, toUInt64(` + build + `) AS build,
	argMax(p_author_name, tuple(created_at, id)) AS author_name, max(p_author_followers) AS followers, count() AS posts,
	sum(p_author_followers) AS reach, sum(p_reposts + p_comments + p_likes) AS engagement,
	countIf(blabel = 'positive') AS positive, countIf(blabel = 'neutral') AS neutral, countIf(blabel = 'negative') AS negative,
	sum(toFloat64(bscore)) AS sentiment_sum
FROM (` + brandPostsSQL(db, cond, filter, "author_id", "author_name", "author_followers", "reposts", "comments", "likes") + `)
GROUP BY brand, hour, platform, author_id`
		},
	}
	TopPosts = Rollup{
		Table: "top_posts_1h_store", View: "top_posts_1h", Grain: time.Hour, Time: "hour",
		Key: []string{"brand", "hour", "platform", "id"},
		Columns: []string{"brand", "hour", "platform", "id", "build", "live", "label", "created_at", "url", "text",
			"author_id", "author_name", "followers", "reposts", "comments", "likes", "engagement"},
		Live: "live = 1",
		zero: "0, '', toDateTime(0, 'UTC'), '', '', '', '', 0, 0, 0, 0, 0",
		// One pass: the posts of each brand × hour × platform × label as an
		// array, cut to the top TopK by each metric (ties: by id).
		rows: func(db, cond, filter, build string) string {
			var tops []string
			for _, m := range TopMetrics {
				i := map[string]string{"reposts": "8", "comments": "9", "engagement": "11"}[m]
				tops = append(tops, "arraySlice(arraySort(x -> (-toInt64(x."+i+"), x.1), posts), 1, "+strconv.Itoa(TopK)+")")
			}
			return `SELECT brand, hour, platform, t.1 AS id, toUInt64(` + build + `) AS build, toUInt8(1) AS live, label, t.2 AS created_at,
	t.3 AS url, t.4 AS text, t.5 AS author_id, t.6 AS author_name, t.7 AS followers, t.8 AS reposts, t.9 AS comments, t.10 AS likes,
	t.11 AS engagement
FROM (
	SELECT brand, hour, platform, label, arrayDistinct(arrayConcat(` + strings.Join(tops, ", ") + `)) AS top
	FROM (
		SELECT brand, toStartOfHour(created_at) AS hour, platform, blabel AS label,
			groupArray(tuple(id, created_at, p_url, p_text, p_author_id, p_author_name, p_author_followers,
				p_reposts, p_comments, p_likes, p_reposts + p_comments + p_likes)) AS posts
		FROM (` + brandPostsSQL(db, cond, filter, "url", "text", "author_id", "author_name", "author_followers", "reposts", "comments", "likes") + `)
		GROUP BY brand, hour, platform, label
	)
) ARRAY JOIN top AS t`
		},
	}
	// All is every rollup.
	All = []Rollup{Volume, Terms, Authors, TopPosts}
)

// TopK is how many posts top_posts_1h keeps per brand, hour, platform,
// label and metric: the largest exact top-N.
const TopK = 20

// TopMetrics are the orders top_posts_1h keeps the top TopK of.
var TopMetrics = []string{"reposts", "comments", "engagement"}

// TermsExpr is the SQL of a post's terms: its keywords and its hashtags
// written #like this#, each once.
func TermsExpr(keywords, hashtags string) string {
	return "arrayDistinct(arrayFilter(t -> t != '' AND t != '##', arrayConcat(" + keywords + ", arrayMap(h -> concat('#', h, '#'), " + hashtags + "))))"
}

// BrandLabelExpr and BrandScoreExpr are the sentiment toward brand of a
// post: its brand_sentiment entry for the brand when there is one, else the
// post's own.
func BrandLabelExpr(brand, bsBrands, bsLabels, label string) string {
	return "if(has(" + bsBrands + ", " + brand + "), " + bsLabels + "[indexOf(" + bsBrands + ", " + brand + ")], " + label + ")"
}

// BrandScoreExpr: see BrandLabelExpr.
func BrandScoreExpr(brand, bsBrands, bsScores, score string) string {
	return "if(has(" + bsBrands + ", " + brand + "), " + bsScores + "[indexOf(" + bsBrands + ", " + brand + ")], " + score + ")"
}

// LatestSQL selects one row per post whose created_at meets cond: the
// platform, id and created_at, and each of cols from the post's latest
// observation (highest version) as p_<col>. Filtering on created_at before
// de-duplicating is exact because a post's observations share their
// created_at — except when a later one moved it, which posts_moved records:
// the rows it superseded are dropped.
func LatestSQL(db, cond string, cols ...string) string {
	var b strings.Builder
	b.WriteString("SELECT platform, id, created_at, max(version) AS p_version")
	for _, c := range cols {
		b.WriteString(", argMax(" + c + ", version) AS p_" + c)
	}
	b.WriteString("\n\tFROM " + db + ".posts_by_time\n\tWHERE " + cond + "\n\tGROUP BY platform, id, created_at")
	oldCond := strings.ReplaceAll(cond, "created_at", "old_at")
	return `SELECT * FROM (` + b.String() + `)
	ANY LEFT JOIN (
		SELECT old_at AS created_at, platform, id, max(new_version) AS p_superseded_by
		FROM (SELECT old_at, platform, id, new_at, new_version FROM ` + db + `.posts_moved WHERE ` + oldCond + `)
		ANY INNER JOIN (
			SELECT created_at AS new_at, platform, id, max(version) AS have FROM ` + db + `.posts_by_time
			WHERE (created_at, platform, id) IN (SELECT new_at, platform, id FROM ` + db + `.posts_moved WHERE ` + oldCond + `)
			GROUP BY new_at, platform, id
		) USING (new_at, platform, id)
		WHERE have >= new_version
		GROUP BY created_at, platform, id
	) USING (created_at, platform, id)
	WHERE p_version >= p_superseded_by`
}

// brandPostsSQL selects one row per post and brand it names (latest
// observation), with the brand-directed label (blabel) and score (bscore)
// and p_<col> for each of cols.
// BrandPostsSQL selects one row per post created when cond holds and
// brand it names (platform, id, created_at, brand, blabel and bscore: the
// sentiment toward the brand, and p_<col> for each of cols), keeping the
// rows where filter holds (a condition on brand and platform; may be "").
func BrandPostsSQL(db, cond, filter string, cols ...string) string {
	return brandPostsSQL(db, cond, filter, cols...)
}

func brandPostsSQL(db, cond, filter string, cols ...string) string {
	need := append([]string{"brands", "sentiment_label", "sentiment_score", "brand_sentiment_brands", "brand_sentiment_scores", "brand_sentiment_labels"}, cols...)
	sel := ""
	for _, c := range cols {
		sel += ", p_" + c
	}
	where := ""
	if filter != "" {
		where = "\n\tWHERE " + filter
	}
	return `SELECT platform, id, created_at, brand,
		` + BrandLabelExpr("brand", "p_brand_sentiment_brands", "p_brand_sentiment_labels", "p_sentiment_label") + ` AS blabel,
		` + BrandScoreExpr("brand", "p_brand_sentiment_brands", "p_brand_sentiment_scores", "p_sentiment_score") + ` AS bscore` + sel + `
	FROM (` + LatestSQL(db, cond, need...) + `)
	ARRAY JOIN p_brands AS brand` + where
}

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

// Builder rebuilds the rollups of a database.
type Builder struct {
	Conn driver.Conn
	DB   string
	// Chunk is how many hours one rebuild query covers at most.
	Chunk int
	// Margin is how long an insert may take: a mark this much older than
	// an hour's last rebuild still makes the sweep rebuild it.
	Margin time.Duration

	mu   sync.Mutex // serialises builds (and orders their versions)
	last uint64
}

// NewBuilder builds a rollup builder for database db.
func NewBuilder(conn driver.Conn, db string) *Builder {
	return &Builder{Conn: conn, DB: db, Chunk: 24, Margin: time.Minute}
}

// version returns a build version above every earlier one of this process
// (nanoseconds of the wall clock, strictly increasing).
func (b *Builder) version() uint64 {
	v := uint64(time.Now().UnixNano())
	if v <= b.last {
		v = b.last + 1
	}
	b.last = v
	return v
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

// Rebuild recomputes every rollup for the given hours (truncated to UTC
// hours) from the posts stored now, Chunk hours per query.
func (b *Builder) Rebuild(ctx context.Context, hours []time.Time) error {
	hs := Hours(hours)
	b.mu.Lock()
	defer b.mu.Unlock()
	chunk := b.Chunk
	if chunk <= 0 {
		chunk = 24
	}
	for len(hs) > 0 {
		n := min(chunk, len(hs))
		if err := b.rebuild(ctx, hs[:n]); err != nil {
			return err
		}
		hs = hs[n:]
	}
	return nil
}

func (b *Builder) rebuild(ctx context.Context, hours []time.Time) error {
	var startedAt uint32
	if err := b.Conn.QueryRow(ctx, "SELECT toUInt32(now())").Scan(&startedAt); err != nil {
		return fmt.Errorf("reading ClickHouse time: %w", err)
	}
	build := strconv.FormatUint(b.version(), 10)
	cond := HoursCond(hours)
	for _, r := range All {
		cols := strings.Join(r.Columns, ", ")
		if err := b.Conn.Exec(ctx, "INSERT INTO "+b.DB+"."+r.Table+" ("+cols+")\n"+r.rows(b.DB, cond, "", build)); err != nil {
			return fmt.Errorf("rebuilding %s.%s: %w", b.DB, r.Table, err)
		}
		// Groups of an earlier build that this one no longer has: zero them.
		keys := strings.Join(r.Key, ", ")
		tomb := "INSERT INTO " + b.DB + "." + r.Table + " (" + cols + ")\nSELECT " + keys + ", toUInt64(" + build + "), " + r.zero +
			"\nFROM " + b.DB + "." + r.Table + " FINAL\nWHERE " + strings.ReplaceAll(cond, "created_at", r.Time) +
			" AND build < " + build + " AND " + r.Live
		if err := b.Conn.Exec(ctx, tomb); err != nil {
			return fmt.Errorf("clearing stale groups of %s.%s: %w", b.DB, r.Table, err)
		}
	}
	ids := make([]string, len(hours))
	for i, h := range hours {
		ids[i] = strconv.FormatInt(h.Unix(), 10)
	}
	q := fmt.Sprintf("INSERT INTO %s.rollup_builds (hour, built_at, build) SELECT toDateTime(arrayJoin([%s]), 'UTC'), toDateTime(%d, 'UTC'), toUInt64(%s)",
		b.DB, strings.Join(ids, ", "), startedAt, build)
	if err := b.Conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("recording rollup build: %w", err)
	}
	return nil
}

// Stale lists the hours whose posts may have changed since their last
// rebuild: marked in rollup_dirty no earlier than Margin before the start
// of their last rebuild, or never rebuilt.
func (b *Builder) Stale(ctx context.Context) ([]time.Time, error) {
	q := fmt.Sprintf(`SELECT d.hour FROM (SELECT hour, max(marked_at) AS marked FROM %[1]s.rollup_dirty GROUP BY hour) AS d
ANY LEFT JOIN (SELECT hour, max(built_at) AS built FROM %[1]s.rollup_builds GROUP BY hour) AS r USING hour
WHERE toUInt32(built) = 0 OR toUInt32(marked) + %[2]d >= toUInt32(built)
ORDER BY hour`, b.DB, int(b.Margin.Seconds()))
	rows, err := b.Conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("listing stale rollup hours: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var h time.Time
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("listing stale rollup hours: %w", err)
		}
		out = append(out, h.UTC())
	}
	return out, rows.Err()
}

// Sweep rebuilds at most max stale hours (all when max ≤ 0), newest
// first (the hours reports ask for most), and returns how many it rebuilt
// and how many stale hours it left.
func (b *Builder) Sweep(ctx context.Context, max int) (rebuilt, left int, err error) {
	hs, err := b.Stale(ctx)
	if err != nil {
		return 0, 0, err
	}
	if max > 0 && len(hs) > max {
		left = len(hs) - max
		hs = hs[len(hs)-max:]
	}
	if err := b.Rebuild(ctx, hs); err != nil {
		return 0, left, err
	}
	return len(hs), left, nil
}

// RebuildRange rebuilds every hour in [from, to) that holds posts, and
// returns how many.
func (b *Builder) RebuildRange(ctx context.Context, from, to time.Time) (int, error) {
	if from.Before(time.Unix(0, 0)) {
		from = time.Unix(0, 0)
	}
	rows, err := b.Conn.Query(ctx, "SELECT DISTINCT toStartOfHour(created_at) AS h FROM "+b.DB+".posts_by_time WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?) ORDER BY h",
		from.Unix(), to.Unix())
	if err != nil {
		return 0, fmt.Errorf("listing hours to rebuild: %w", err)
	}
	var hs []time.Time
	for rows.Next() {
		var h time.Time
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, fmt.Errorf("listing hours to rebuild: %w", err)
		}
		hs = append(hs, h.UTC())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("listing hours to rebuild: %w", err)
	}
	return len(hs), b.Rebuild(ctx, hs)
}

// Move is an observation of a post at another created_at than the one
// stored: rows of (Platform, ID) at OldAt with a version below NewVersion
// are superseded by the row at NewAt.
type Move struct {
	OldAt      time.Time
	Platform   string
	ID         string
	NewAt      time.Time
	NewVersion uint64
}

// Prepare is called before rows are inserted: it looks up the stored
// observation of each post (posts_store, by its primary key) and records in
// posts_moved the observations that move a post to another created_at. It
// returns the moves; their old and new hours must be rebuilt with the
// rows' own.
func (b *Builder) Prepare(ctx context.Context, rows []*post.Enriched) ([]Move, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	type obs struct {
		at      time.Time
		version uint64
	}
	keys := ch.GroupSet{}
	seen := map[string]bool{}
	for _, r := range rows {
		if k := r.Key(); !seen[k] {
			seen[k] = true
			keys.Value = append(keys.Value, ch.GroupSet{Value: []any{r.Platform, r.ID}})
		}
	}
	cur := map[string]obs{}
	q := "SELECT platform, id, argMax(created_at, version), max(version) FROM " + b.DB + ".posts_store WHERE (platform, id) IN ? GROUP BY platform, id"
	res, err := b.Conn.Query(ctx, q, keys)
	if err != nil {
		return nil, fmt.Errorf("looking up stored posts: %w", err)
	}
	for res.Next() {
		var pl, id string
		var o obs
		if err := res.Scan(&pl, &id, &o.at, &o.version); err != nil {
			res.Close()
			return nil, fmt.Errorf("looking up stored posts: %w", err)
		}
		cur[pl+":"+id] = o
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("looking up stored posts: %w", err)
	}
	// In version order, so that two observations in one batch chain.
	sorted := append([]*post.Enriched(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool { return rowVersion(sorted[i]) < rowVersion(sorted[j]) })
	var moves []Move
	for _, r := range sorted {
		k, at, v := r.Key(), utc(r.CreatedAt).Truncate(time.Second), rowVersion(r)
		o, ok := cur[k]
		switch {
		case !ok:
			cur[k] = obs{at, v}
		case o.at.Equal(at):
			if v > o.version {
				cur[k] = obs{at, v}
			}
		case v > o.version:
			moves = append(moves, Move{OldAt: o.at.UTC(), Platform: r.Platform, ID: r.ID, NewAt: at, NewVersion: v})
			cur[k] = obs{at, v}
		case v < o.version:
			moves = append(moves, Move{OldAt: at, Platform: r.Platform, ID: r.ID, NewAt: o.at.UTC(), NewVersion: o.version})
		}
	}
	if len(moves) == 0 {
		return nil, nil
	}
	batch, err := b.Conn.PrepareBatch(ctx, "INSERT INTO "+b.DB+".posts_moved (old_at, platform, id, new_at, new_version)")
	if err != nil {
		return nil, fmt.Errorf("recording moved posts: %w", err)
	}
	for _, m := range moves {
		if err := batch.Append(m.OldAt, m.Platform, m.ID, m.NewAt, m.NewVersion); err != nil {
			_ = batch.Abort()
			return nil, fmt.Errorf("recording moved posts: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return nil, fmt.Errorf("recording moved posts: %w", err)
	}
	// Mark the hours the moves leave, as inserts mark the hours they
	// touch: should the sink die before rebuilding them, the reports
	// compute them from the posts and the sweep rebuilds them (a
	// redelivered batch finds no move any more).
	ids := make([]string, 0, 2*len(moves))
	for _, m := range moves {
		ids = append(ids, strconv.FormatInt(m.OldAt.Truncate(time.Hour).Unix(), 10), strconv.FormatInt(m.NewAt.Truncate(time.Hour).Unix(), 10))
	}
	q = fmt.Sprintf("INSERT INTO %s.rollup_dirty (hour, marked_at) SELECT toDateTime(arrayJoin([%s]), 'UTC') AS hour, now() AS marked_at", b.DB, strings.Join(ids, ", "))
	if err := b.Conn.Exec(ctx, q); err != nil {
		return nil, fmt.Errorf("marking the hours of moved posts: %w", err)
	}
	return moves, nil
}
