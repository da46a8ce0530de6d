// Package report runs iwom's named reports (volume, sov, sentiment,
// keywords, kols, top-posts, spikes) on the ClickHouse rollups, for `iwom
// report <name>` and for GET /v1/reports/<name> alike.
//
// Each report reads the rollup tables for the whole buckets of its window
// and computes the partial buckets at the window's edges directly from the
// posts (the same SQL the rollup builder uses), so its numbers equal a
// direct count on iwom.posts for any window while the work stays
// proportional to the number of buckets, not of posts. SQL is built only
// from fixed fragments and allow-listed names; every value a caller gives
// (brands, platforms, times, zones) is a bound parameter.
package report

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/iwom/iwom/analyzers/brands"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// Spec describes a report: its name, what it shows, and the parameters it
// takes beyond the common ones.
type Spec struct {
	Name    string
	Summary string
	// Series reports are time series bucketed by --interval.
	Series          bool
	DefaultInterval string
	Extra           []string
	Sorts           []string
	DefaultSort     string
	DefaultLimit    int
	MaxLimit        int
	run             func(ctx context.Context, e *Engine, p Params) (*Result, error)
}

// Specs lists the reports in the order they are documented.
func Specs() []*Spec {
	out := make([]*Spec, 0, len(specs))
	for _, n := range order {
		out = append(out, specs[n])
	}
	return out
}

// Lookup returns the report named name.
func Lookup(name string) (*Spec, error) {
	s, ok := specs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (reports: %s)", ErrUnknownReport, name, strings.Join(order, ", "))
	}
	return s, nil
}

// Engine runs reports on one ClickHouse database.
type Engine struct {
	Conn driver.Conn
	DB   string
	// WatchList maps brand names to ids and names a brand's own names
	// (left out of its hot words); nil: ids only.
	WatchList *brands.WatchList
	// Now is the clock for --since and the default window (time.Now).
	Now func() time.Time
}

// Run parses v for report name and runs it.
func (e *Engine) Run(ctx context.Context, name string, v url.Values) (*Result, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	p, err := s.Parse(v, now(), e.WatchList)
	if err != nil {
		return nil, err
	}
	return e.RunParams(ctx, s, p)
}

// RunParams runs report s with validated parameters.
func (e *Engine) RunParams(ctx context.Context, s *Spec, p Params) (*Result, error) {
	res, err := s.run(ctx, e, p)
	if err != nil {
		return nil, fmt.Errorf("running report %s: %w", s.Name, err)
	}
	res.Report, res.Params = s.Name, s.paramsOut(p)
	return res, nil
}

// sqlb builds a query and its positional arguments in text order.
type sqlb struct {
	b    strings.Builder
	args []any
}

func (q *sqlb) add(s string, args ...any) *sqlb {
	q.b.WriteString(s)
	q.args = append(q.args, args...)
	return q
}

func (q *sqlb) String() string { return q.b.String() }

// set is a bound IN list: ('a', 'b').
func set(vals []string) ch.GroupSet {
	s := ch.GroupSet{Value: make([]any, len(vals))}
	for i, v := range vals {
		s.Value[i] = v
	}
	return s
}

// filter restricts rows by brand and platform (nil: any).
type filter struct {
	brands, platforms []string
}

// filter is the report's filter, for brands.
func (p Params) filter(brands []string) filter { return filter{brands, p.Platforms} }

func (f filter) add(q *sqlb) {
	if len(f.brands) > 0 {
		q.add(" AND brand IN ?", set(f.brands))
	}
	if len(f.platforms) > 0 {
		q.add(" AND platform IN ?", set(f.platforms))
	}
}

// span is [from, to).
type span struct{ from, to time.Time }

// split cuts [from, to) into the whole grain-wide buckets in it (ok false
// when there are none) and the partial buckets at its edges.
func split(from, to time.Time, grain time.Duration) (full span, ok bool, edges []span) {
	a, b := from.Truncate(grain), to.Truncate(grain)
	if a.Before(from) {
		a = a.Add(grain)
	}
	if !a.Before(b) {
		return span{}, false, []span{{from, to}}
	}
	if from.Before(a) {
		edges = append(edges, span{from, a})
	}
	if b.Before(to) {
		edges = append(edges, span{b, to})
	}
	return span{a, b}, true, edges
}

// source adds to q a subquery with rollup r's rows for the posts created
// in [from, to) that pass f: the summed table for whole buckets, the same
// sums computed from brand_posts for the partial buckets at the edges. A
// group may come in several rows (parts not merged yet, an edge): readers
// sum them, and the sums are exact.
func (e *Engine) source(q *sqlb, r chsink.Rollup, from, to time.Time, f filter) {
	e.sourceOf(q, r, from, to, f, srcOpts{})
}

// srcOpts tune sourceOf.
type srcOpts struct {
	// cols are the columns to read (nil: all).
	cols []string
	// keyCond, when set, is a condition on key columns (with keyArgs).
	keyCond string
	keyArgs []any
}

func (e *Engine) sourceOf(q *sqlb, r chsink.Rollup, from, to time.Time, f filter, o srcOpts) {
	columns := o.cols
	if columns == nil {
		columns = r.Columns
	}
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = "`" + c + "`"
	}
	cols := strings.Join(quoted, ", ")
	full, ok, edges := split(from, to, r.Grain)
	q.add("(")
	if ok {
		q.add("SELECT "+cols+" FROM "+e.DB+"."+r.Table+" WHERE "+r.Time+" >= toDateTime(?) AND "+r.Time+" < toDateTime(?)", full.from.Unix(), full.to.Unix())
		f.add(q)
		if o.keyCond != "" {
			q.add(" AND "+o.keyCond, o.keyArgs...)
		}
	}
	if len(edges) > 0 {
		if ok {
			q.add(" UNION ALL ")
		}
		spans := make([]chsink.Span, len(edges))
		for i, s := range edges {
			spans[i] = chsink.Span{From: s.from, To: s.to}
		}
		// The brand and platform filter goes inside, before the heavy work.
		fq := &sqlb{}
		fq.add("1")
		f.add(fq)
		q.add("SELECT "+cols+" FROM ("+r.EdgeSQL(e.DB, spans, fq.String())+")", fq.args...)
		if o.keyCond != "" {
			q.add(" WHERE "+o.keyCond, o.keyArgs...)
		}
	}
	q.add(")")
}

// usum is a sum of a signed count column as UInt64 (never below zero).
func usum(expr string) string { return "toUInt64(greatest(" + expr + ", 0))" }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// bucket is the SQL of col's --interval bucket.
func bucket(q *sqlb, col string, p Params) {
	switch p.Interval {
	case "5m":
		q.add("toStartOfFiveMinute(" + col + ")")
	case "15m":
		q.add("toStartOfFifteenMinutes(" + col + ")")
	case "hour":
		q.add("toStartOfHour("+col+", ?)", p.TZ)
	case "day":
		q.add("toStartOfDay("+col+", ?)", p.TZ)
	default:
		panic("report: unvalidated interval " + p.Interval)
	}
}

// series keys every bucket of [from, to) for each series (seen or asked
// for) so time series come out without gaps.
type series[V any] struct {
	buckets []time.Time
	keys    []string
	rows    map[string]map[int64]*V
}

func newSeries[V any](p Params) *series[V] {
	return &series[V]{buckets: Buckets(p.From, p.To, p.Interval, p.Loc), rows: map[string]map[int64]*V{}}
}

func (s *series[V]) key(k string) map[int64]*V {
	m := s.rows[k]
	if m == nil {
		m = map[int64]*V{}
		s.rows[k] = m
		s.keys = append(s.keys, k)
	}
	return m
}

// at returns the value of key k at bucket t, creating it.
func (s *series[V]) at(k string, t time.Time) *V {
	m := s.key(k)
	v := m[t.Unix()]
	if v == nil {
		v = new(V)
		m[t.Unix()] = v
	}
	return v
}

// each calls fn for every bucket of every key, keys sorted.
func (s *series[V]) each(fn func(t time.Time, k string, v *V)) {
	keys := append([]string(nil), s.keys...)
	sort.Strings(keys)
	for _, t := range s.buckets {
		for _, k := range keys {
			v := s.rows[k][t.Unix()]
			if v == nil {
				v = new(V)
			}
			fn(t, k, v)
		}
	}
}

// query runs q and calls scan for each row.
func (e *Engine) query(ctx context.Context, what string, q *sqlb, scan func(driver.Rows) error) error {
	rows, err := e.Conn.Query(ctx, q.String(), q.args...)
	if err != nil {
		return fmt.Errorf("querying %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	return nil
}
