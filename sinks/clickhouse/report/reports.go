package report

import (
	"context"
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
	q.add(" AS t, brand, platform, " + usum("sum(posts)") + ", " + usum("sum(reach)") + ", " + usum("sum(engagement)") + " FROM ")
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
	q.add(" AS t, brand, " + usum("sum(posts)") + " FROM ")
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
	q.add(` AS t, brand, ` + usum("sum(posts)") + `, ` + usum("sumIf(posts, label = 'positive')") + `, ` + usum("sumIf(posts, label = 'neutral')") + `,
	` + usum("sumIf(posts, label = 'negative')") + `, sum(sentiment_sum) FROM `)
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
	q.add("SELECT brand, term, " + usum("sumIf(posts, w = 1)") + " AS cur, " + usum("sumIf(posts, w = 0)") + " AS prev FROM (SELECT toUInt8(1) AS w, brand, term, posts FROM ")
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

// kol is one author's sums toward a brand in the window.
type kol struct {
	brand, platform, id              string
	posts, reach, eng, pos, neu, neg uint64
}

// runKOLs ranks a brand's authors on the summed rollup, then reads the
// names and largest follower counts of the winners only. A brand can have
// hundreds of thousands of authors in a week, and grouping them by their
// string keys is slow; so for up to 5 brands (not by followers) a first
// pass per brand groups by a 64-bit hash of (brand, platform, author_id),
// numbers only, and keeps the M best. Its sums are exact (the rollup is
// summed, not merged), or upper bounds of each author should two share a
// hash, so every other author's value is at most the M-th. The second pass
// computes the candidates exactly; when the exact N-th value is above the
// M-th of the first pass, nobody else can reach the top N and the answer is
// exact; otherwise the report ranks every author.
func runKOLs(ctx context.Context, e *Engine, p Params) (*Result, error) {
	var ks []kol
	var err error
	if p.Sort == "followers" || len(p.Brands) == 0 || len(p.Brands) > 5 {
		ks, err = e.rankKOLs(ctx, p, nil)
	} else {
		ks, err = e.rankKOLsInTwoPasses(ctx, p)
	}
	if err != nil {
		return nil, err
	}
	keys := ch.GroupSet{}
	for _, k := range ks {
		keys.Value = append(keys.Value, ch.GroupSet{Value: []any{k.brand, k.platform, k.id}})
	}
	res := &Result{Columns: kolColumns}
	if len(ks) == 0 {
		return res, nil
	}
	// The winners' largest follower counts in the window and names.
	fq := &sqlb{}
	fq.add("SELECT brand, platform, author_id, " + maxFollowers + " FROM ")
	e.sourceOf(fq, chsink.Authors, p.From, p.To, p.filter(p.Brands), srcOpts{
		cols:    append([]string{"brand", "platform", "author_id"}, chsink.Authors.Maps...),
		keyCond: "(brand, platform, author_id) IN ?", keyArgs: []any{keys}})
	fq.add(" GROUP BY brand, platform, author_id")
	followers := map[string]uint64{}
	err = e.query(ctx, "KOL followers", fq, func(r driver.Rows) error {
		var b, pl, id string
		var f uint64
		if err := r.Scan(&b, &pl, &id, &f); err != nil {
			return err
		}
		followers[b+"\x00"+pl+"\x00"+id] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	names, err := e.authorNames(ctx, ks2keys(ks, func(k kol) [2]string { return [2]string{k.platform, k.id} }))
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		net := 0.0
		if k.posts > 0 {
			net = (float64(k.pos) - float64(k.neg)) / float64(k.posts)
		}
		res.Rows = append(res.Rows, []any{k.brand, k.platform, k.id, names[k.platform+"\x00"+k.id], followers[k.brand+"\x00"+k.platform+"\x00"+k.id],
			k.posts, k.reach, k.eng, k.pos, k.neu, k.neg, net})
	}
	return res, nil
}

// kolValue is what a KOL ranking sorts by, then engagement.
type kolValue struct{ v, eng uint64 }

func (a kolValue) less(b kolValue) bool { return a.v < b.v || a.v == b.v && a.eng < b.eng }

func (p Params) kolValue(posts, reach, eng uint64) kolValue {
	return kolValue{map[string]uint64{"reach": reach, "engagement": eng, "posts": posts}[p.Sort], eng}
}

func (e *Engine) rankKOLsInTwoPasses(ctx context.Context, p Params) ([]kol, error) {
	m := max(3*p.Limit, p.Limit+50)
	bounds := map[string]kolValue{}
	var hashes []uint64
	for _, b := range p.Brands {
		q := &sqlb{}
		q.add(`SELECT cityHash64(brand, platform, author_id) AS k, ` + usum("sum(posts)") + ` AS k_posts, ` + usum("sum(reach)") + ` AS k_reach,
	` + usum("sum(engagement)") + ` AS k_engagement FROM `)
		e.sourceOf(q, chsink.Authors, p.From, p.To, p.filter([]string{b}), srcOpts{cols: []string{"brand", "platform", "author_id", "posts", "reach", "engagement"}})
		q.add(" GROUP BY k HAVING k_posts > 0 ORDER BY k_" + p.Sort + " DESC, k_engagement DESC LIMIT " + strconv.Itoa(m))
		n := 0
		var last kolValue
		err := e.query(ctx, "KOL candidates", q, func(r driver.Rows) error {
			var k, posts, reach, eng uint64
			if err := r.Scan(&k, &posts, &reach, &eng); err != nil {
				return err
			}
			n++
			last = p.kolValue(posts, reach, eng)
			hashes = append(hashes, k)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if n == m {
			bounds[b] = last // else every author of the brand is a candidate
		}
	}
	if len(hashes) == 0 {
		return nil, nil
	}
	ks, err := e.rankKOLs(ctx, p, hashes)
	if err != nil {
		return nil, err
	}
	// Certify: each brand's exact N-th is above its bound.
	count := map[string]int{}
	for _, k := range ks {
		count[k.brand]++
		if bound, ok := bounds[k.brand]; ok && count[k.brand] == p.Limit && !bound.less(p.kolValue(k.posts, k.reach, k.eng)) {
			return e.rankKOLs(ctx, p, nil)
		}
	}
	for b := range bounds {
		if count[b] < p.Limit {
			return e.rankKOLs(ctx, p, nil)
		}
	}
	return ks, nil
}

// rankKOLs ranks the authors (those whose hash is in hashes; nil: every
// author) by p.Sort, the top p.Limit per brand.
func (e *Engine) rankKOLs(ctx context.Context, p Params, hashes []uint64) ([]kol, error) {
	q := &sqlb{}
	q.add(`SELECT brand, platform, author_id, ` + usum("sum(posts)") + ` AS k_posts, ` + usum("sum(reach)") + ` AS k_reach,
	` + usum("sum(engagement)") + ` AS k_engagement, ` + usum("sum(positive)") + `, ` + usum("sum(neutral)") + `, ` + usum("sum(negative)"))
	cols := []string{"brand", "platform", "author_id", "posts", "reach", "engagement", "positive", "neutral", "negative"}
	if p.Sort == "followers" {
		q.add(`, ` + maxFollowers + ` AS k_followers`)
		cols = append(cols, chsink.Authors.Maps...)
	}
	q.add(" FROM ")
	o := srcOpts{cols: cols}
	if hashes != nil {
		set := ch.GroupSet{Value: make([]any, len(hashes))}
		for i, h := range hashes {
			set.Value[i] = h
		}
		o.keyCond, o.keyArgs = "cityHash64(brand, platform, author_id) IN ?", []any{set}
	}
	e.sourceOf(q, chsink.Authors, p.From, p.To, p.filter(p.Brands), o)
	q.add(" GROUP BY brand, platform, author_id HAVING k_posts > 0 ORDER BY brand, k_" + p.Sort + " DESC, k_engagement DESC, platform, author_id LIMIT " + strconv.Itoa(p.Limit) + " BY brand")
	var ks []kol
	err := e.query(ctx, "KOLs", q, func(r driver.Rows) error {
		var k kol
		dest := []any{&k.brand, &k.platform, &k.id, &k.posts, &k.reach, &k.eng, &k.pos, &k.neu, &k.neg}
		if p.Sort == "followers" {
			var f uint64
			dest = append(dest, &f)
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		ks = append(ks, k)
		return nil
	})
	return ks, err
}

// maxFollowers is an author's largest follower count among the posts
// still counted in a group of authors_1h_sum rows (the follower map's
// largest key with a positive count).
const maxFollowers = "toUInt64(arrayReduce('max', arrayFilter((f, c) -> c > 0, sumMap(`followersMap.followers`, `followersMap.n`).1, sumMap(`followersMap.followers`, `followersMap.n`).2)))"

func ks2keys[T any](xs []T, key func(T) [2]string) [][2]string {
	out := make([][2]string, len(xs))
	for i, x := range xs {
		out[i] = key(x)
	}
	return out
}

// authorNames returns the latest observed name of each (platform,
// author_id).
func (e *Engine) authorNames(ctx context.Context, keys [][2]string) (map[string]string, error) {
	set := ch.GroupSet{}
	for _, k := range keys {
		set.Value = append(set.Value, ch.GroupSet{Value: []any{k[0], k[1]}})
	}
	q := &sqlb{}
	q.add("SELECT platform, author_id, argMax(name, tuple(version, name)) FROM "+e.DB+".authors WHERE (platform, author_id) IN ? GROUP BY platform, author_id", set)
	out := map[string]string{}
	err := e.query(ctx, "author names", q, func(r driver.Rows) error {
		var pl, id, name string
		if err := r.Scan(&pl, &id, &name); err != nil {
			return err
		}
		out[pl+"\x00"+id] = name
		return nil
	})
	return out, err
}

var kolColumns = []string{"brand", "platform", "author_id", "author_name", "followers", "posts", "reach", "engagement",
	"positive", "neutral", "negative", "net"}

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
// optionally of one label and with one term, from brand_posts. A post's
// live row is the (platform, id, version) whose signs sum to 1; a cancel
// row copies every column of the row it cancels, so any filter on a row's
// values keeps or drops both. Without a term the ranking first reads the
// sortBy column of the window's rows alone to find, per brand, a threshold
// that at least limit rows reach (live or not), then ranks the live rows
// at or above it; when fewer than limit live rows reach it (cancelled rows
// counted in the threshold), that brand is ranked again over all its rows.
func (e *Engine) top(ctx context.Context, f filter, from, to time.Time, label, term, sortBy string, limit int) ([]topRow, error) {
	col := map[string]string{"reposts": "reposts", "comments": "comments", "engagement": "engagement"}[sortBy]
	if col == "" {
		return nil, badParam("sort", "%q is not one of %s", sortBy, strings.Join(chsink.TopMetrics, ", "))
	}
	where := func(q *sqlb, fl filter) {
		q.add(" WHERE " + chsink.SpanCond([]chsink.Span{{From: from, To: to}}))
		fl.add(q)
		if label != "" {
			q.add(" AND label = ?", label)
		}
		if term != "" {
			q.add(" AND has(terms, ?)", term)
		}
	}
	rank := func(fl filter, th map[string]uint64) ([]topRow, error) {
		q := &sqlb{}
		q.add(`SELECT brand, platform, id, any(created_at), any(author_id), anyIf(author_name, sign = 1), any(followers),
	any(reposts), any(comments), any(likes), any(engagement), any(label), anyIf(url, sign = 1), anyIf(text, sign = 1), sum(sign) AS live FROM ` + e.DB + ".brand_posts")
		where(q, fl)
		if len(th) > 0 {
			bs := make([]string, 0, len(th))
			for b := range th {
				bs = append(bs, b)
			}
			sort.Strings(bs)
			q.add(" AND (brand NOT IN ?", set(bs))
			for _, b := range bs {
				q.add(" OR brand = ? AND "+col+" >= ?", b, th[b])
			}
			q.add(")")
		}
		q.add(" GROUP BY brand, platform, id, version HAVING live > 0 ORDER BY brand, any(" + col + ") DESC, platform, id LIMIT " + strconv.Itoa(limit) + " BY brand")
		var out []topRow
		err := e.query(ctx, "top posts", q, func(r driver.Rows) error {
			var x topRow
			var live int64
			if err := r.Scan(&x.brand, &x.platform, &x.id, &x.created, &x.authorID, &x.authorName, &x.followers,
				&x.reposts, &x.comments, &x.likes, &x.en, &x.label, &x.url, &x.text, &live); err != nil {
				return err
			}
			out = append(out, x)
			return nil
		})
		return out, err
	}
	if term != "" {
		return rank(f, nil)
	}
	tq := &sqlb{}
	tq.add("SELECT brand, min(" + col + ") FROM (SELECT brand, " + col + " FROM " + e.DB + ".brand_posts")
	where(tq, f)
	tq.add(" AND sign = 1 ORDER BY " + col + " DESC LIMIT " + strconv.Itoa(4*limit) + " BY brand) GROUP BY brand HAVING count() = " + strconv.Itoa(4*limit))
	thresholds := map[string]uint64{}
	err := e.query(ctx, "top-post thresholds", tq, func(r driver.Rows) error {
		var b string
		var v uint64
		if err := r.Scan(&b, &v); err != nil {
			return err
		}
		thresholds[b] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := rank(f, thresholds)
	if err != nil {
		return nil, err
	}
	// Brands with a threshold that fewer than limit live rows reach.
	n := map[string]int{}
	for _, x := range rows {
		n[x.brand]++
	}
	var again []string
	for b := range thresholds {
		if n[b] < limit {
			again = append(again, b)
		}
	}
	if len(again) == 0 {
		return rows, nil
	}
	sort.Strings(again)
	redo, err := rank(filter{brands: again, platforms: f.platforms}, nil)
	if err != nil {
		return nil, err
	}
	redone := map[string]bool{}
	for _, b := range again {
		redone[b] = true
	}
	out := redo
	for _, x := range rows {
		if !redone[x.brand] {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].brand < out[j].brand })
	return out, nil
}

func runTopPosts(ctx context.Context, e *Engine, p Params) (*Result, error) {
	rows, err := e.top(ctx, p.filter(p.Brands), p.From, p.To, p.Label, p.Term, p.Sort, p.Limit)
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
	q.add(" AS t, brand, " + usum("sum(posts)") + ", " + usum("sumIf(posts, label = 'negative')") + " FROM ")
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
	oq.add("SELECT min(bucket) FROM " + e.DB + ".volume_5m_sum")
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
		tops, err := e.top(ctx, f, sp.start, sp.end, label, "", "reposts", 3)
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
