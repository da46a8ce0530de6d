package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

var order = []string{"volume", "sov", "sentiment", "keywords", "kols", "top-posts", "spikes"}

var specs = map[string]*Spec{
	"volume": {Name: "volume", Summary: "posts over time, per brand and platform, with reach and engagement",
		Series: true, DefaultInterval: "hour", run: runVolume},
	"sov": {Name: "sov", Summary: "share of voice between the chosen brands over time",
		Series: true, DefaultInterval: "hour", run: runSOV},
	"sentiment": {Name: "sentiment", Summary: "positive / neutral / negative posts and net sentiment ((pos − neg) / posts) over time",
		Series: true, DefaultInterval: "hour", run: runSentiment},
	"keywords": {Name: "keywords", Summary: "hot words and #hashtags# of each brand in the window, against the previous window of the same length (rising first), without the brand's own names",
		DefaultInterval: "hour", Extra: []string{"limit", "sort"}, Sorts: []string{"change", "posts"}, DefaultSort: "change", DefaultLimit: 20, MaxLimit: 1000, run: runKeywords},
	"kols": {Name: "kols", Summary: "top authors of each brand by reach (sum of followers over their posts) and engagement, with their sentiment toward the brand",
		DefaultInterval: "hour", Extra: []string{"limit", "sort"}, Sorts: []string{"reach", "engagement", "posts", "followers"}, DefaultSort: "reach", DefaultLimit: 20, MaxLimit: 1000, run: runKOLs},
	"top-posts": {Name: "top-posts", Summary: "most reposted / commented posts of each brand, with text, author and link",
		DefaultInterval: "hour", Extra: []string{"limit", "sort", "label", "term"}, Sorts: chsink.TopMetrics, DefaultSort: "reposts", DefaultLimit: 10, MaxLimit: chsink.TopK, run: runTopPosts},
	"spikes": {Name: "spikes", Summary: "windows where a brand's volume or negative volume broke out of its baseline (the mean of the previous buckets), with the driving keywords and posts",
		Series: true, DefaultInterval: "hour", Extra: []string{"limit", "baseline", "ratio", "min"}, DefaultLimit: 10, MaxLimit: 100, run: runSpikes},
}

// checkBucket fails when ClickHouse returns a bucket the window does not
// have (a zone or interval mismatch between Go and ClickHouse).
func checkBucket(known map[int64]bool, t time.Time) error {
	if !known[t.Unix()] {
		return fmt.Errorf("bucket %s is not in the window", t.UTC().Format(time.RFC3339))
	}
	return nil
}

func bucketSet(ts []time.Time) map[int64]bool {
	m := make(map[int64]bool, len(ts))
	for _, t := range ts {
		m[t.Unix()] = true
	}
	return m
}

func runVolume(ctx context.Context, e *Engine, p Params) (*Result, error) {
	q := &sqlb{}
	q.add("SELECT ")
	bucket(q, "bucket", p)
	q.add(" AS t, brand, platform, sum(posts), sum(reach), sum(engagement) FROM ")
	e.source(q, chsink.Volume, p.From, p.To, p.filter(p.Brands))
	q.add(" GROUP BY t, brand, platform")
	type v struct{ posts, reach, engagement uint64 }
	s := newSeries[v](p)
	for _, b := range p.Brands {
		for _, pl := range p.Platforms {
			s.key(b + "\x00" + pl)
		}
	}
	known := bucketSet(s.buckets)
	err := e.query(ctx, "volume", q, func(r driver.Rows) error {
		var t time.Time
		var b, pl string
		var x v
		if err := r.Scan(&t, &b, &pl, &x.posts, &x.reach, &x.engagement); err != nil {
			return err
		}
		*s.at(b+"\x00"+pl, t) = x
		return checkBucket(known, t)
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []string{"bucket", "brand", "platform", "posts", "reach", "engagement"}}
	s.each(func(t time.Time, k string, x *v) {
		b, pl, _ := strings.Cut(k, "\x00")
		res.Rows = append(res.Rows, []any{Time{t.In(p.Loc)}, b, pl, x.posts, x.reach, x.engagement})
	})
	return res, nil
}

func runSOV(ctx context.Context, e *Engine, p Params) (*Result, error) {
	q := &sqlb{}
	q.add("SELECT ")
	bucket(q, "bucket", p)
	q.add(" AS t, brand, sum(posts) FROM ")
	e.source(q, chsink.Volume, p.From, p.To, p.filter(p.Brands))
	q.add(" GROUP BY t, brand")
	s := newSeries[uint64](p)
	for _, b := range p.Brands {
		s.key(b)
	}
	known := bucketSet(s.buckets)
	total := map[int64]uint64{}
	err := e.query(ctx, "share of voice", q, func(r driver.Rows) error {
		var t time.Time
		var b string
		var n uint64
		if err := r.Scan(&t, &b, &n); err != nil {
			return err
		}
		*s.at(b, t) = n
		total[t.Unix()] += n
		return checkBucket(known, t)
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []string{"bucket", "brand", "posts", "share"}}
	s.each(func(t time.Time, b string, n *uint64) {
		share := 0.0
		if tot := total[t.Unix()]; tot > 0 {
			share = float64(*n) / float64(tot)
		}
		res.Rows = append(res.Rows, []any{Time{t.In(p.Loc)}, b, *n, share})
	})
	return res, nil
}

func runSentiment(ctx context.Context, e *Engine, p Params) (*Result, error) {
	q := &sqlb{}
	q.add("SELECT ")
	bucket(q, "bucket", p)
	q.add(` AS t, brand, sum(posts), sumIf(posts, label = 'positive'), sumIf(posts, label = 'neutral'),
	sumIf(posts, label = 'negative'), sum(sentiment_sum) FROM `)
	e.source(q, chsink.Volume, p.From, p.To, p.filter(p.Brands))
	q.add(" GROUP BY t, brand")
	type v struct {
		posts, pos, neu, neg uint64
		sum                  float64
	}
	s := newSeries[v](p)
	for _, b := range p.Brands {
		s.key(b)
	}
	known := bucketSet(s.buckets)
	err := e.query(ctx, "sentiment", q, func(r driver.Rows) error {
		var t time.Time
		var b string
		var x v
		if err := r.Scan(&t, &b, &x.posts, &x.pos, &x.neu, &x.neg, &x.sum); err != nil {
			return err
		}
		*s.at(b, t) = x
		return checkBucket(known, t)
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []string{"bucket", "brand", "posts", "positive", "neutral", "negative", "net", "score"}}
	s.each(func(t time.Time, b string, x *v) {
		net, score := 0.0, 0.0
		if x.posts > 0 {
			net = (float64(x.pos) - float64(x.neg)) / float64(x.posts)
			score = x.sum / float64(x.posts)
		}
		res.Rows = append(res.Rows, []any{Time{t.In(p.Loc)}, b, x.posts, x.pos, x.neu, x.neg, net, score})
	})
	return res, nil
}

// Term is a hot word of a brand.
type Term struct {
	Brand    string
	Term     string
	Posts    uint64
	Previous uint64
}

// terms returns the top limit terms per brand in [from, to) against
// [from-(to-from), from), ordered by sort (change or posts).
func (e *Engine) terms(ctx context.Context, f filter, from, to time.Time, sortBy string, limit int) ([]Term, error) {
	prev := from.Add(-to.Sub(from))
	q := &sqlb{}
	q.add("SELECT brand, term, sumIf(posts, w = 1) AS cur, sumIf(posts, w = 0) AS prev FROM (SELECT toUInt8(1) AS w, brand, term, posts FROM ")
	e.source(q, chsink.Terms, from, to, f)
	q.add(" UNION ALL SELECT toUInt8(0) AS w, brand, term, posts FROM ")
	e.source(q, chsink.Terms, prev, from, f)
	q.add(")")
	if excl := e.ownNames(f.brands); len(excl) > 0 {
		q.add(" WHERE NOT has(?, concat(brand, '|', lowerUTF8(term)))", excl)
	}
	q.add(" GROUP BY brand, term HAVING cur > 0 ORDER BY brand, ")
	if sortBy == "posts" {
		q.add("cur DESC, toInt64(cur) - toInt64(prev) DESC, term")
	} else {
		q.add("toInt64(cur) - toInt64(prev) DESC, cur DESC, term")
	}
	q.add(" LIMIT " + strconv.Itoa(limit) + " BY brand")
	var out []Term
	err := e.query(ctx, "keywords", q, func(r driver.Rows) error {
		var t Term
		if err := r.Scan(&t.Brand, &t.Term, &t.Posts, &t.Previous); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// ownNames lists "brand|name" (lower case, also as #name#) for the names
// of the given brands (all brands when none), which their hot words leave
// out.
func (e *Engine) ownNames(ids []string) []string {
	wl := e.WatchList
	if wl == nil {
		return nil
	}
	if len(ids) == 0 {
		for _, b := range wl.Brands {
			ids = append(ids, b.ID)
		}
	}
	var out []string
	for _, id := range ids {
		for _, n := range wl.Names(id) {
			n = strings.ToLower(n)
			out = append(out, id+"|"+n, id+"|#"+n+"#")
		}
	}
	return out
}

func runKeywords(ctx context.Context, e *Engine, p Params) (*Result, error) {
	ts, err := e.terms(ctx, p.filter(p.Brands), p.From, p.To, p.Sort, p.Limit)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []string{"brand", "term", "posts", "previous", "change", "growth"}}
	for _, t := range ts {
		var growth any // null: new in this window
		if t.Previous > 0 {
			growth = (float64(t.Posts) - float64(t.Previous)) / float64(t.Previous)
		}
		res.Rows = append(res.Rows, []any{t.Brand, t.Term, t.Posts, t.Previous, int64(t.Posts) - int64(t.Previous), growth})
	}
	return res, nil
}

// runKOLs ranks authors in two passes, because a brand can have hundreds
// of thousands of authors in a week and grouping them with their names is
// slow. The first pass (per brand) groups by a 64-bit hash of (brand,
// platform, author_id) with numbers only and without FINAL: its values are
// upper bounds (a group rebuilt since the last merge may count twice, two
// authors may share a hash), and it keeps the M best. Every other author's
// true value is at most the M-th upper bound. The second pass computes the
// candidates exactly; when the exact N-th value is above that bound, nobody
// outside can reach the top N and the answer is exact; otherwise the
// report runs the exact query over every author.
func runKOLs(ctx context.Context, e *Engine, p Params) (*Result, error) {
	if len(p.Brands) == 0 || len(p.Brands) > 5 {
		return e.kols(ctx, p, nil)
	}
	m := max(3*p.Limit, p.Limit+50)
	type val struct{ v, eng uint64 }
	less := func(a, b val) bool { return a.v < b.v || a.v == b.v && a.eng < b.eng }
	value := func(followers, posts, reach, eng uint64) uint64 {
		return map[string]uint64{"reach": reach, "engagement": eng, "posts": posts, "followers": followers}[p.Sort]
	}
	bounds := map[string]val{}
	var keys []uint64
	for _, b := range p.Brands {
		q := &sqlb{}
		q.add(`SELECT cityHash64(brand, platform, author_id) AS k, max(followers) AS k_followers, sum(posts) AS k_posts,
	sum(reach) AS k_reach, sum(engagement) AS k_engagement FROM `)
		e.sourceOf(q, chsink.Authors, p.From, p.To, p.filter([]string{b}),
			srcOpts{cols: []string{"brand", "platform", "author_id", "followers", "posts", "reach", "engagement"}, all: true})
		q.add(" GROUP BY k ORDER BY k_" + p.Sort + " DESC, k_engagement DESC LIMIT " + strconv.Itoa(m))
		var n int
		var last val
		err := e.query(ctx, "KOL candidates", q, func(r driver.Rows) error {
			var k, followers, posts, reach, eng uint64
			if err := r.Scan(&k, &followers, &posts, &reach, &eng); err != nil {
				return err
			}
			n++
			last = val{value(followers, posts, reach, eng), eng}
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if n == m {
			bounds[b] = last // else every author of the brand is a candidate
		}
	}
	if len(keys) == 0 {
		return &Result{Columns: kolColumns}, nil
	}
	res, err := e.kols(ctx, p, keys)
	if err != nil {
		return nil, err
	}
	// Certify: each brand's exact N-th is above its bound.
	count := map[string]int{}
	for _, row := range res.Rows {
		b := row[0].(string)
		count[b]++
		if bound, ok := bounds[b]; ok && count[b] == p.Limit {
			nth := val{value(row[4].(uint64), row[5].(uint64), row[6].(uint64), row[7].(uint64)), row[7].(uint64)}
			if !less(bound, nth) {
				return e.kols(ctx, p, nil)
			}
		}
	}
	for b := range bounds {
		if count[b] < p.Limit {
			return e.kols(ctx, p, nil)
		}
	}
	return res, nil
}

var kolColumns = []string{"brand", "platform", "author_id", "author_name", "followers", "posts", "reach", "engagement",
	"positive", "neutral", "negative", "net"}

// kols is the exact KOL query, over the authors whose hash is in keys (nil:
// every author).
func (e *Engine) kols(ctx context.Context, p Params, keys []uint64) (*Result, error) {
	q := &sqlb{}
	q.add(`SELECT brand, platform, author_id, argMax(author_name, hour), max(followers) AS k_followers, sum(posts) AS k_posts,
	sum(reach) AS k_reach, sum(engagement) AS k_engagement, sum(positive), sum(neutral), sum(negative) FROM `)
	o := srcOpts{final: true}
	if keys != nil {
		set := ch.GroupSet{Value: make([]any, len(keys))}
		for i, k := range keys {
			set.Value[i] = k
		}
		// platform and author_id are key columns: filtering on them before
		// FINAL drops whole groups, never a version of one.
		o.keyCond, o.keyArgs = "cityHash64(brand, platform, author_id) IN ?", []any{set}
	}
	e.sourceOf(q, chsink.Authors, p.From, p.To, p.filter(p.Brands), o)
	q.add(" GROUP BY brand, platform, author_id ORDER BY brand, k_" + p.Sort + " DESC, k_engagement DESC, platform, author_id LIMIT " + strconv.Itoa(p.Limit) + " BY brand")
	res := &Result{Columns: kolColumns}
	err := e.query(ctx, "KOLs", q, func(r driver.Rows) error {
		var b, pl, id, name string
		var followers, posts, reach, eng, pos, neu, neg uint64
		if err := r.Scan(&b, &pl, &id, &name, &followers, &posts, &reach, &eng, &pos, &neu, &neg); err != nil {
			return err
		}
		net := 0.0
		if posts > 0 {
			net = (float64(pos) - float64(neg)) / float64(posts)
		}
		res.Rows = append(res.Rows, []any{b, pl, id, name, followers, posts, reach, eng, pos, neu, neg, net})
		return nil
	})
	return res, err
}

// PostRef is a post as the spikes report cites it.
type PostRef struct {
	Platform string `json:"platform"`
	ID       string `json:"id"`
	URL      string `json:"url"`
	Text     string `json:"text"`
	Reposts  uint64 `json:"reposts"`
	Comments uint64 `json:"comments"`
}

// topRow is one line of top-posts.
type topRow struct {
	brand, platform, id          string
	created                      time.Time
	authorID, authorName         string
	followers                    uint64
	reposts, comments, likes, en uint64
	label, url, text             string
}

// top returns the top limit posts per brand in [from, to) by sortBy,
// optionally of one label.
func (e *Engine) top(ctx context.Context, f filter, from, to time.Time, label, sortBy string, limit int) ([]topRow, error) {
	rows, err := e.top1(ctx, f, from, to, label, sortBy, limit)
	if errors.Is(err, errRebuilt) { // a rebuild ran between the two queries
		rows, err = e.top1(ctx, f, from, to, label, sortBy, limit)
	}
	return rows, err
}

var errRebuilt = errors.New("a post ranked in the first query is gone in the second")

func (e *Engine) top1(ctx context.Context, f filter, from, to time.Time, label, sortBy string, limit int) ([]topRow, error) {
	// First the ranking, on the numbers only; then the texts of the few
	// posts it picked (their keys are key columns: read before FINAL).
	q := &sqlb{}
	q.add("SELECT brand, platform, id, any(reposts) AS k_reposts, any(comments) AS k_comments, any(engagement) AS k_engagement FROM ")
	e.sourceOf(q, chsink.TopPosts, from, to, f, srcOpts{final: true,
		cols: []string{"brand", "hour", "platform", "id", "live", "label", "reposts", "comments", "engagement"}})
	if label != "" {
		q.add(" WHERE label = ?", label)
	}
	q.add(" GROUP BY brand, platform, id ORDER BY brand, k_" + sortBy + " DESC, platform, id LIMIT " + strconv.Itoa(limit) + " BY brand")
	var order []string
	keys := ch.GroupSet{}
	err := e.query(ctx, "top posts", q, func(r driver.Rows) error {
		var b, pl, id string
		var a, c, d uint64
		if err := r.Scan(&b, &pl, &id, &a, &c, &d); err != nil {
			return err
		}
		order = append(order, b+"\x00"+pl+"\x00"+id)
		keys.Value = append(keys.Value, ch.GroupSet{Value: []any{b, pl, id}})
		return nil
	})
	if err != nil || len(order) == 0 {
		return nil, err
	}
	q = &sqlb{}
	q.add(`SELECT brand, platform, id, any(created_at), any(author_id), any(author_name), any(followers),
	any(reposts), any(comments), any(likes), any(engagement), any(label), any(url), any(text) FROM `)
	e.sourceOf(q, chsink.TopPosts, from, to, f, srcOpts{final: true, keyCond: "(brand, platform, id) IN ?", keyArgs: []any{keys}})
	q.add(" GROUP BY brand, platform, id")
	got := map[string]topRow{}
	err = e.query(ctx, "top posts", q, func(r driver.Rows) error {
		var x topRow
		if err := r.Scan(&x.brand, &x.platform, &x.id, &x.created, &x.authorID, &x.authorName, &x.followers,
			&x.reposts, &x.comments, &x.likes, &x.en, &x.label, &x.url, &x.text); err != nil {
			return err
		}
		got[x.brand+"\x00"+x.platform+"\x00"+x.id] = x
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]topRow, 0, len(order))
	for _, k := range order {
		x, ok := got[k]
		if !ok {
			return nil, fmt.Errorf("reading top posts: %q: %w", strings.ReplaceAll(k, "\x00", ":"), errRebuilt)
		}
		out = append(out, x)
	}
	return out, nil
}

func runTopPosts(ctx context.Context, e *Engine, p Params) (*Result, error) {
	var rows []topRow
	var err error
	if p.Term != "" {
		rows, err = e.topWithTerm(ctx, p)
	} else {
		rows, err = e.top(ctx, p.filter(p.Brands), p.From, p.To, p.Label, p.Sort, p.Limit)
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []string{"brand", "platform", "id", "created_at", "author_id", "author_name", "followers",
		"reposts", "comments", "likes", "engagement", "label", "url", "text"}}
	for _, x := range rows {
		res.Rows = append(res.Rows, []any{x.brand, x.platform, x.id, Time{x.created.In(p.Loc)}, x.authorID, x.authorName, x.followers,
			x.reposts, x.comments, x.likes, x.en, x.label, x.url, x.text})
	}
	return res, nil
}

// topWithTerm ranks the posts that have p.Term among their terms. The
// top_posts_1h rollup keeps no terms, so this reads the posts of the
// window (posts_by_time, each post's latest observation): it costs a scan
// of the window, which the dashboard's click-to-filter asks for one brand
// and a day or so at a time.
func (e *Engine) topWithTerm(ctx context.Context, p Params) ([]topRow, error) {
	cond := fmt.Sprintf("created_at >= toDateTime(%d) AND created_at < toDateTime(%d)", p.From.Unix(), p.To.Unix())
	fq := &sqlb{}
	fq.add("1")
	p.filter(p.Brands).add(fq)
	q := &sqlb{}
	q.add(`SELECT brand, platform, id, created_at, p_author_id, p_author_name, p_author_followers,
	p_reposts, p_comments, p_likes, p_reposts + p_comments + p_likes AS engagement, blabel, p_url, p_text FROM (`+
		chsink.BrandPostsSQL(e.DB, cond, fq.String(), "url", "text", "author_id", "author_name", "author_followers",
			"reposts", "comments", "likes", "keywords", "hashtags")+")", fq.args...)
	q.add(" WHERE has("+chsink.TermsExpr("p_keywords", "p_hashtags")+", ?)", p.Term)
	if p.Label != "" {
		q.add(" AND blabel = ?", p.Label)
	}
	sortCol := map[string]string{"reposts": "p_reposts", "comments": "p_comments", "engagement": "engagement"}[p.Sort]
	if sortCol == "" {
		return nil, badParam("sort", "%q is not one of %s", p.Sort, strings.Join(chsink.TopMetrics, ", "))
	}
	q.add(" ORDER BY brand, " + sortCol + " DESC, platform, id LIMIT " + strconv.Itoa(p.Limit) + " BY brand")
	var out []topRow
	err := e.query(ctx, "top posts with a term", q, func(r driver.Rows) error {
		var x topRow
		if err := r.Scan(&x.brand, &x.platform, &x.id, &x.created, &x.authorID, &x.authorName, &x.followers,
			&x.reposts, &x.comments, &x.likes, &x.en, &x.label, &x.url, &x.text); err != nil {
			return err
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// spike is a run of buckets where a metric broke out.
type spike struct {
	brand, metric   string
	start, end      time.Time
	posts, negative uint64
	peak            uint64
	baseline, ratio float64
}

func runSpikes(ctx context.Context, e *Engine, p Params) (*Result, error) {
	// The series from Baseline buckets before the window.
	first := floorBucket(p.From, p.Interval, p.Loc)
	ext := first
	for i := 0; i < p.Baseline; i++ {
		ext = floorBucket(ext.Add(-time.Second), p.Interval, p.Loc)
	}
	q := &sqlb{}
	q.add("SELECT ")
	bucket(q, "bucket", p)
	q.add(" AS t, brand, sum(posts), sumIf(posts, label = 'negative') FROM ")
	e.source(q, chsink.Volume, ext, p.To, p.filter(p.Brands))
	q.add(" GROUP BY t, brand")
	bp := p
	bp.From = ext
	type v struct{ posts, neg uint64 }
	s := newSeries[v](bp)
	known := bucketSet(s.buckets)
	err := e.query(ctx, "spike series", q, func(r driver.Rows) error {
		var t time.Time
		var b string
		var x v
		if err := r.Scan(&t, &b, &x.posts, &x.neg); err != nil {
			return err
		}
		*s.at(b, t) = x
		return checkBucket(known, t)
	})
	if err != nil {
		return nil, err
	}
	// A bucket is judged only against a baseline of stored data: not in
	// the first Baseline buckets after the oldest post.
	var oldest time.Time
	oq := &sqlb{}
	oq.add("SELECT created_at FROM " + e.DB + ".posts_by_time ORDER BY created_at LIMIT 1")
	if err := e.query(ctx, "the oldest post", oq, func(r driver.Rows) error { return r.Scan(&oldest) }); err != nil {
		return nil, err
	}
	var found []spike
	keys := append([]string(nil), s.keys...)
	sort.Strings(keys)
	for _, b := range keys {
		for _, metric := range []string{"volume", "negative"} {
			vals := make([]uint64, len(s.buckets))
			negs := make([]uint64, len(s.buckets))
			posts := make([]uint64, len(s.buckets))
			for i, t := range s.buckets {
				if x := s.rows[b][t.Unix()]; x != nil {
					posts[i], negs[i] = x.posts, x.neg
				}
				vals[i] = posts[i]
				if metric == "negative" {
					vals[i] = negs[i]
				}
			}
			var run *spike
			for i, t := range s.buckets {
				lo := max(0, i-p.Baseline)
				if t.Before(first) || i < p.Baseline || s.buckets[lo].Before(floorBucket(oldest, p.Interval, p.Loc)) {
					run = nil
					continue
				}
				base := 0.0
				if i > lo {
					for _, x := range vals[lo:i] {
						base += float64(x)
					}
					base /= float64(i - lo)
				}
				breaks := vals[i] >= uint64(p.Min) && float64(vals[i]) >= p.Ratio*max(base, 1)
				if !breaks {
					run = nil
					continue
				}
				end := nextBucket(t, p.Interval, p.Loc)
				if end.After(p.To) {
					end = p.To
				}
				if run == nil {
					found = append(found, spike{brand: b, metric: metric, start: t, baseline: base})
					run = &found[len(found)-1]
				}
				run.end = end
				run.posts += posts[i]
				run.negative += negs[i]
				run.peak = max(run.peak, vals[i])
				run.ratio = float64(run.peak) / max(run.baseline, 1)
			}
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].ratio > found[j].ratio })
	if len(found) > p.Limit {
		found = found[:p.Limit]
	}
	sort.SliceStable(found, func(i, j int) bool {
		if !found[i].start.Equal(found[j].start) {
			return found[i].start.Before(found[j].start)
		}
		return found[i].brand+found[i].metric < found[j].brand+found[j].metric
	})
	res := &Result{Columns: []string{"brand", "metric", "start", "end", "posts", "negative", "peak", "baseline", "ratio", "keywords", "top_posts"}}
	for _, sp := range found {
		f := p.filter([]string{sp.brand})
		ts, err := e.terms(ctx, f, sp.start, sp.end, "change", 5)
		if err != nil {
			return nil, err
		}
		words := []string{}
		for _, t := range ts {
			words = append(words, t.Term)
		}
		label := ""
		if sp.metric == "negative" {
			label = "negative"
		}
		tops, err := e.top(ctx, f, sp.start, sp.end, label, "reposts", 3)
		if err != nil {
			return nil, err
		}
		refs := []PostRef{}
		for _, x := range tops {
			refs = append(refs, PostRef{Platform: x.platform, ID: x.id, URL: x.url, Text: x.text, Reposts: x.reposts, Comments: x.comments})
		}
		res.Rows = append(res.Rows, []any{sp.brand, sp.metric, Time{sp.start.In(p.Loc)}, Time{sp.end.In(p.Loc)}, sp.posts, sp.negative,
			sp.peak, sp.baseline, sp.ratio, words, refs})
	}
	return res, nil
}
