package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/post"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
	"github.com/iwom/iwom/sinks/clickhouse/state"
)

// Options of a benchmark run.
type Options struct {
	DB      string
	Posts   int
	Days    int
	Window  time.Duration
	Runs    int
	RawRuns int
	Load    bool
	Keep    bool
	Seed    uint64
	// End is when the loaded posts end (default 2026-11-20 00:00 UTC).
	End time.Time
	Log func(format string, args ...any)
}

// Timing is one report's latency from the rollups and of the same query
// on iwom.posts.
type Timing struct {
	Report, Window string
	Rows           int
	Rollup         []time.Duration
	Raw            []time.Duration
}

// Results of a run.
type Results struct {
	Posts    uint64
	LoadTime time.Duration
	// StateLoad is how long a sink starting on this database takes to
	// load its state store from ClickHouse.
	StateLoad time.Duration
	// BatchWrite is the median time the sink spends on one 5,000-post
	// batch (a tenth re-observations) at this size: plan, insert, commit.
	BatchWrite time.Duration
	Sizes      []Size
	Timings    []Timing
}

// Size is a table's rows and bytes on disk.
type Size struct {
	Table string
	Rows  uint64
	Bytes uint64
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Run loads (when o.Load) and measures.
func Run(ctx context.Context, conn driver.Conn, o Options) (*Results, error) {
	if o.End.IsZero() {
		o.End = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Runs < 1 {
		o.Runs = 1
	}
	res := &Results{}
	span := time.Duration(o.Days) * 24 * time.Hour
	if o.Load {
		if err := load(ctx, conn, o, span, res); err != nil {
			return nil, err
		}
	}
	if !o.Keep && o.Load {
		defer func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+o.DB) }()
	}
	if err := conn.QueryRow(ctx, "SELECT toUInt64(sum(sign)) FROM "+o.DB+".posts_store").Scan(&res.Posts); err != nil {
		return nil, fmt.Errorf("counting posts: %w", err)
	}
	if err := sizes(ctx, conn, o.DB, res); err != nil {
		return nil, err
	}
	wl, err := WatchList()
	if err != nil {
		return nil, err
	}
	e := &report.Engine{Conn: conn, DB: o.DB, WatchList: wl}
	windows := []struct {
		name     string
		from, to time.Time
	}{
		{"aligned", o.End.Add(-o.Window), o.End},
		{"ragged", o.End.Add(-o.Window - 17*time.Minute - 13*time.Second), o.End.Add(-17*time.Minute - 13*time.Second)},
	}
	for _, w := range windows {
		for _, c := range cases(o.DB) {
			v := url.Values{"from": {w.from.Format(time.RFC3339)}, "to": {w.to.Format(time.RFC3339)}}
			for k, x := range c.params {
				v[k] = x
			}
			t := Timing{Report: c.report, Window: w.name}
			for i := 0; i <= o.Runs; i++ { // the first run warms the caches
				start := time.Now()
				r, err := e.Run(ctx, c.report, v)
				if err != nil {
					return nil, fmt.Errorf("report %s: %w", c.report, err)
				}
				if i > 0 {
					t.Rollup = append(t.Rollup, time.Since(start))
				}
				t.Rows = len(r.Rows)
			}
			if w.name == "aligned" {
				for i := 0; i < o.RawRuns; i++ {
					start := time.Now()
					if err := drain(ctx, conn, c.raw, w.from, w.to); err != nil {
						return nil, fmt.Errorf("raw %s: %w", c.report, err)
					}
					t.Raw = append(t.Raw, time.Since(start))
				}
			}
			o.Log("%-9s %-7s rollups %6.1f ms   iwom.posts %8.1f ms", c.report, w.name, ms(median(t.Rollup)), ms(median(t.Raw)))
			res.Timings = append(res.Timings, t)
		}
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func load(ctx context.Context, conn driver.Conn, o Options, span time.Duration, res *Results) error {
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+o.DB); err != nil {
		return fmt.Errorf("dropping %s: %w", o.DB, err)
	}
	if _, err := chsink.Migrate(ctx, conn, o.DB, zerolog.Nop()); err != nil {
		return err
	}
	o.Log("enriching templates…")
	tpls, err := Generate(6000, o.Seed, "crisis", o.End, 24*time.Hour)
	if err != nil {
		return err
	}
	w := chsink.NewWriter(conn, o.DB)
	start := time.Now()
	last := time.Now()
	err = Load(ctx, w, LoadOptions{Posts: o.Posts, Seed: o.Seed, End: o.End, Span: span, Templates: tpls}, func(done int) {
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			o.Log("loaded %d posts (%.0f/s)", done, float64(done)/time.Since(start).Seconds())
		}
	})
	if err != nil {
		return err
	}
	res.LoadTime = time.Since(start)
	o.Log("loaded %d posts in %s", o.Posts, res.LoadTime.Round(time.Second))
	// What the sink pays per batch at this size: its state store loaded
	// from ClickHouse (a sink starting on this database), then batches of
	// 5,000 posts at the newest time, 500 of them re-observations (more
	// engagement) of the batch before, through the sink's ledger.
	dir, err := os.MkdirTemp("", "iwom-bench-state-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := state.Open(dir, 32<<20)
	if err != nil {
		return err
	}
	defer store.Close()
	l := chsink.NewLedger(conn, o.DB, store, 0, 1, zerolog.Nop())
	start = time.Now()
	if _, err := l.Sync(ctx); err != nil {
		return err
	}
	res.StateLoad = time.Since(start)
	o.Log("sink state loaded in %s", res.StateLoad.Round(time.Millisecond))
	var batch []time.Duration
	var prev []*post.Enriched
	for i := 0; i < 7; i++ {
		end := o.End.Add(time.Duration(i+1) * 10 * time.Minute)
		var rows []*post.Enriched
		err := Load(ctx, w, LoadOptions{Posts: 4500, Seed: o.Seed + uint64(i) + 1, End: end, Span: 10 * time.Minute, Templates: tpls,
			Authors: max(2000, o.Posts/20), Batch: 4500, Write: func(_ context.Context, r []*post.Enriched) error { rows = r; return nil }}, nil)
		if err != nil {
			return err
		}
		for j := 0; j < 500 && j < len(prev); j++ {
			e := *prev[j*len(prev)/500]
			e.IngestedAt = e.IngestedAt.Add(10 * time.Minute)
			e.Metrics.Reposts += 10
			rows = append(rows, &e)
		}
		start := time.Now()
		changes, _, err := l.Plan(rows)
		if err != nil {
			return err
		}
		if _, err := w.Write(ctx, changes); err != nil {
			return err
		}
		if err := l.Commit(changes); err != nil {
			return err
		}
		if i >= 2 { // the first two warm up
			batch = append(batch, time.Since(start))
		}
		prev = rows
	}
	res.BatchWrite = median(batch)
	o.Log("sink batch of 5,000 posts (500 re-observed): %s", res.BatchWrite.Round(time.Millisecond))
	return nil
}

func sizes(ctx context.Context, conn driver.Conn, db string, res *Results) error {
	rows, err := conn.Query(ctx, "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = ? AND active GROUP BY table ORDER BY table", db)
	if err != nil {
		return fmt.Errorf("reading table sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Size
		if err := rows.Scan(&s.Table, &s.Rows, &s.Bytes); err != nil {
			return fmt.Errorf("reading table sizes: %w", err)
		}
		res.Sizes = append(res.Sizes, s)
	}
	return rows.Err()
}

func drain(ctx context.Context, conn driver.Conn, raw func(from, to int64) (string, []any), from, to time.Time) error {
	q, args := raw(from.Unix(), to.Unix())
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

type benchCase struct {
	report string
	params url.Values
	// raw is the same question on iwom.posts for [from, to).
	raw func(from, to int64) (string, []any)
}

const label = "if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label)"

func cases(db string) []benchCase {
	posts := db + ".posts ARRAY JOIN brands AS brand"
	win := func(q string) func(from, to int64) (string, []any) {
		return func(from, to int64) (string, []any) {
			return strings.ReplaceAll(q, "{win}", "created_at >= toDateTime(?) AND created_at < toDateTime(?)"), []any{from, to}
		}
	}
	return []benchCase{
		{"volume", url.Values{"brand": {"siemens"}, "interval": {"hour"}},
			win("SELECT toStartOfHour(created_at) AS t, brand, platform, count(), sum(author_followers), sum(reposts + comments + likes) FROM " + posts +
				" WHERE brand = 'siemens' AND {win} GROUP BY t, brand, platform")},
		{"sov", url.Values{"brand": {"siemens,cocacola,cmb"}, "interval": {"hour"}},
			win("SELECT toStartOfHour(created_at) AS t, brand, count() FROM " + posts + " WHERE brand IN ('siemens', 'cocacola', 'cmb') AND {win} GROUP BY t, brand")},
		{"sentiment", url.Values{"brand": {"siemens"}, "interval": {"hour"}},
			win("SELECT toStartOfHour(created_at) AS t, brand, count(), countIf(l = 'positive'), countIf(l = 'neutral'), countIf(l = 'negative') FROM (SELECT created_at, brand, " + label + " AS l FROM " + posts +
				" WHERE brand = 'siemens' AND {win}) GROUP BY t, brand")},
		{"keywords", url.Values{"brand": {"siemens"}}, func(from, to int64) (string, []any) {
			// The window and the one before it.
			return "SELECT term, countIf(created_at >= toDateTime(?)) AS cur, countIf(created_at < toDateTime(?)) AS prev FROM (SELECT created_at, " +
				"arrayDistinct(arrayFilter(t -> t != '' AND t != '##', arrayConcat(keywords, arrayMap(h -> concat('#', h, '#'), hashtags))))" + " AS ts FROM " + posts +
				" WHERE brand = 'siemens' AND created_at >= toDateTime(?) AND created_at < toDateTime(?)) ARRAY JOIN ts AS term" +
				" GROUP BY term ORDER BY toInt64(cur) - toInt64(prev) DESC, cur DESC, term LIMIT 20", []any{from, from, from - (to - from), to}
		}},
		{"kols", url.Values{"brand": {"siemens"}},
			win("SELECT author_id, platform, count(), max(author_followers), sum(author_followers) AS reach, sum(reposts + comments + likes) AS e FROM " + posts +
				" WHERE brand = 'siemens' AND {win} GROUP BY author_id, platform ORDER BY reach DESC, e DESC LIMIT 20")},
		{"top-posts", url.Values{"brand": {"siemens"}},
			win("SELECT platform, id, text, url, author_name, reposts, comments FROM " + posts + " WHERE brand = 'siemens' AND {win} ORDER BY reposts DESC, platform, id LIMIT 10")},
		{"spikes", url.Values{"brand": {"siemens"}, "interval": {"hour"}}, func(from, to int64) (string, []any) {
			// The series with its 12 hours of baseline.
			return "SELECT toStartOfHour(created_at) AS t, count(), countIf(" + label + " = 'negative') FROM " + posts +
				" WHERE brand = 'siemens' AND created_at >= toDateTime(?) AND created_at < toDateTime(?) GROUP BY t", []any{from - 12*3600, to}
		}},
	}
}

// Write prints the results as tables.
func (r *Results) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "posts\t%d\t\n", r.Posts)
	if r.LoadTime > 0 {
		fmt.Fprintf(tw, "load (Writer)\t%s\t%.0f posts/s\t\n", r.LoadTime.Round(time.Second), float64(r.Posts)/r.LoadTime.Seconds())
		fmt.Fprintf(tw, "sink state load from ClickHouse\t%s\t\n", r.StateLoad.Round(time.Millisecond))
		fmt.Fprintf(tw, "sink batch of 5,000 posts (500 re-observed)\t%s\t\n", r.BatchWrite.Round(time.Millisecond))
	}
	fmt.Fprintln(tw, "\t\t\t")
	fmt.Fprintln(tw, "TABLE\tROWS\tMB\t")
	for _, s := range r.Sizes {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t\n", s.Table, s.Rows, float64(s.Bytes)/1e6)
	}
	fmt.Fprintln(tw, "\t\t\t")
	fmt.Fprintln(tw, "REPORT\tWINDOW\tROWS\tROLLUPS P50 MS\tMAX MS\tIWOM.POSTS P50 MS\tSPEED-UP\t")
	for _, t := range r.Timings {
		raw, speed := "", ""
		if len(t.Raw) > 0 {
			raw = fmt.Sprintf("%.1f", ms(median(t.Raw)))
			speed = fmt.Sprintf("%.0f×", float64(median(t.Raw))/float64(median(t.Rollup)))
		}
		mx := time.Duration(0)
		for _, d := range t.Rollup {
			mx = max(mx, d)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%s\t%s\t\n", t.Report, t.Window, t.Rows, ms(median(t.Rollup)), ms(mx), raw, speed)
	}
	return tw.Flush()
}
