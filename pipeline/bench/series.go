package bench

import (
	"math"
	"sync"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// Minute is one interval of a run's series (a minute unless
// --series-interval says otherwise). Offsets are from the start of the
// offer; freshness is of the posts stored in the interval.
type Minute struct {
	Start     float64  `json:"t_s"`     // offset of the interval's start
	Seconds   float64  `json:"seconds"` // its length (the last one may be short)
	Offered   int64    `json:"offered"` // posts published in it
	Stored    int64    `json:"stored"`  // posts stored in it
	P50ms     *float64 `json:"freshness_p50_ms"`
	P99ms     *float64 `json:"freshness_p99_ms"`
	CHCPUs    *float64 `json:"clickhouse_cpu_s"` // null: ClickHouse server not measurable
	IwomCPUs  float64  `json:"iwom_cpu_s"`       // all iwom processes, generator and NATS included
	BacklogAt int64    `json:"backlog_end"`      // offered but not yet stored at its end
	IwomRSSMB float64  `json:"iwom_rss_mb"`      // resident set of the iwom processes at its end
}

// Window sums several intervals: the first or last five minutes of a soak.
type Window struct {
	From         float64  `json:"from_s"`
	To           float64  `json:"to_s"`
	Stored       int64    `json:"stored"`
	PostsPerS    float64  `json:"posts_per_s"`
	P50ms        *float64 `json:"freshness_p50_ms"`
	P99ms        *float64 `json:"freshness_p99_ms"`
	CHCPUs       *float64 `json:"clickhouse_cpu_s"`
	CHCPUPer1k   *float64 `json:"clickhouse_cpu_s_per_1k_posts"`
	IwomCPUs     float64  `json:"iwom_cpu_s"`
	IwomCPUPer1k *float64 `json:"iwom_cpu_s_per_1k_posts"`
}

// hist is a log-bucketed histogram of durations for exact-enough
// quantiles in bounded memory: bucket i > 0 holds (histMin·g^(i-1),
// histMin·g^i] seconds with g = 1.01, and a quantile is reported as its
// bucket's geometric middle, so it is within 0.5% of the exact sample
// quantile for 0.1 ms … 1 h (bucket 0 holds ≤ 0.1 ms, the last one ≥ 1 h).
// A histogram takes 14 KB whatever the number of samples; the 9M stored
// posts of a 30-minute soak at 5,000 posts/s would take 430 MB as samples.
type hist struct {
	n uint64
	c []uint64 // allocated on first add
}

const (
	histMin    = 1e-4 // seconds
	histGrowth = 1.01
	histMax    = 3600.0
)

var (
	histLogG    = math.Log(histGrowth)
	histBuckets = int(math.Ceil(math.Log(histMax/histMin)/histLogG)) + 1
)

func histBucket(sec float64) int {
	if !(sec > histMin) { // also NaN
		return 0
	}
	i := int(math.Log(sec/histMin)/histLogG) + 1
	return min(i, histBuckets-1)
}

// histValue is the representative value (seconds) of bucket i.
func histValue(i int) float64 {
	if i == 0 {
		return histMin
	}
	return histMin * math.Exp((float64(i)-0.5)*histLogG)
}

func (h *hist) add(sec float64) {
	if h.c == nil {
		h.c = make([]uint64, histBuckets)
	}
	h.c[histBucket(sec)]++
	h.n++
}

func (h *hist) merge(o *hist) {
	if o == nil || o.n == 0 {
		return
	}
	if h.c == nil {
		h.c = make([]uint64, histBuckets)
	}
	for i, c := range o.c {
		h.c[i] += c
	}
	h.n += o.n
}

// quantileMS returns the q-quantile in milliseconds with the rank the
// benchmark has always used (the int(q·(n-1))-th smallest sample), or
// false when the histogram is empty.
func (h *hist) quantileMS(q float64) (float64, bool) {
	if h == nil || h.n == 0 {
		return 0, false
	}
	rank := uint64(q * float64(h.n-1))
	var seen uint64
	for i, c := range h.c {
		seen += c
		if seen > rank {
			return histValue(i) * 1000, true
		}
	}
	return histValue(len(h.c)-1) * 1000, true
}

// recorder receives the sink's OnInserted calls (in-process runs): it
// counts the posts stored in each interval since start, keeps their
// freshness in a histogram per interval, and a histogram of the posts
// published since from (the measured window) for the run's percentiles.
type recorder struct {
	mu     sync.Mutex
	start  time.Time
	every  time.Duration
	stored []int64
	fresh  []*hist
	window hist
	last   time.Time // latest insert
}

// reset starts a new series and window at start.
func (r *recorder) reset(start time.Time, every time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start, r.every = start, every
	r.stored, r.fresh = nil, nil
	r.window = hist{}
}

func (r *recorder) add(rows []*post.Enriched, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.last) {
		r.last = at
	}
	if r.start.IsZero() || at.Before(r.start) {
		return
	}
	k := int(at.Sub(r.start) / r.every)
	for len(r.stored) <= k {
		r.stored = append(r.stored, 0)
		r.fresh = append(r.fresh, &hist{})
	}
	r.stored[k] += int64(len(rows))
	for _, row := range rows {
		if row.IngestedAt.IsZero() {
			continue
		}
		d := at.Sub(row.IngestedAt).Seconds()
		r.fresh[k].add(d)
		if !row.IngestedAt.Before(r.start) {
			r.window.add(d)
		}
	}
}

// interval returns what was stored in interval k and a copy of its
// freshness histogram.
func (r *recorder) interval(k int) (int64, *hist) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &hist{}
	if k < 0 || k >= len(r.stored) {
		return 0, h
	}
	h.merge(r.fresh[k])
	return r.stored[k], h
}

func (r *recorder) windowQuantilesMS(qs ...float64) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i], _ = r.window.quantileMS(q)
	}
	return out
}

func (r *recorder) lastInsert() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// span is one interval of the series while it is being aggregated.
// Freshness comes either from the exact histogram (in-process runs) or
// from the difference of two scrapes of the sink's Prometheus histogram
// (separate processes: coarse buckets, interpolated).
type span struct {
	start, end time.Time
	offered    int64
	stored     int64
	fresh      *hist
	prom       map[float64]float64 // le → cumulative count in the span
	chCPU      float64
	chOK       bool
	iwomCPU    float64
	backlog    int64
	rssMB      float64
}

// mergeSpans sums consecutive spans (end state from the last).
func mergeSpans(ss []span) span {
	if len(ss) == 0 {
		return span{}
	}
	out := span{start: ss[0].start, end: ss[len(ss)-1].end, chOK: true}
	for _, s := range ss {
		out.offered += s.offered
		out.stored += s.stored
		if s.fresh != nil {
			if out.fresh == nil {
				out.fresh = &hist{}
			}
			out.fresh.merge(s.fresh)
		}
		if s.prom != nil {
			if out.prom == nil {
				out.prom = map[float64]float64{}
			}
			for le, c := range s.prom {
				out.prom[le] += c
			}
		}
		out.chCPU += s.chCPU
		out.chOK = out.chOK && s.chOK
		out.iwomCPU += s.iwomCPU
		out.backlog, out.rssMB = s.backlog, s.rssMB
	}
	return out
}

// freshnessMS returns the p50 and p99 freshness of the span, nil when
// nothing with a publication time was stored in it.
func (s span) freshnessMS() (p50, p99 *float64) {
	if s.fresh != nil {
		a, ok := s.fresh.quantileMS(0.5)
		if !ok {
			return nil, nil
		}
		b, _ := s.fresh.quantileMS(0.99)
		return &a, &b
	}
	if s.prom == nil {
		return nil, nil
	}
	q := histQuantiles(nil, s.prom, 0.5, 0.99)
	if q[0] == 0 && q[1] == 0 {
		return nil, nil
	}
	return &q[0], &q[1]
}

func (s span) minute(t0 time.Time) Minute {
	m := Minute{
		Start: s.start.Sub(t0).Seconds(), Seconds: s.end.Sub(s.start).Seconds(),
		Offered: s.offered, Stored: s.stored, IwomCPUs: s.iwomCPU, BacklogAt: s.backlog, IwomRSSMB: s.rssMB,
	}
	m.P50ms, m.P99ms = s.freshnessMS()
	if s.chOK {
		v := s.chCPU
		m.CHCPUs = &v
	}
	return m
}

func (s span) window(t0 time.Time) *Window {
	w := &Window{From: s.start.Sub(t0).Seconds(), To: s.end.Sub(t0).Seconds(), Stored: s.stored, IwomCPUs: s.iwomCPU}
	if d := s.end.Sub(s.start).Seconds(); d > 0 {
		w.PostsPerS = float64(s.stored) / d
	}
	w.P50ms, w.P99ms = s.freshnessMS()
	if s.chOK {
		v := s.chCPU
		w.CHCPUs = &v
		if s.stored > 0 {
			per := 1000 * v / float64(s.stored)
			w.CHCPUPer1k = &per
		}
	}
	if s.stored > 0 {
		per := 1000 * s.iwomCPU / float64(s.stored)
		w.IwomCPUPer1k = &per
	}
	return w
}

// soakWindow is how much of the start and end of a soak first5 and last5
// compare, and minSoak the offer needed for the comparison.
const (
	soakWindow = 5 * time.Minute
	minSoak    = 10 * time.Minute
)

// firstLast returns the first and last five minutes of the offer, for
// offers of ten minutes or more: whole intervals of length every that end
// by the end of the offer (offer), counted from the first span.
func firstLast(spans []span, every, offer time.Duration) (first, last *span) {
	if offer < minSoak || every <= 0 {
		return nil, nil
	}
	n := int(math.Round(float64(soakWindow) / float64(every)))
	n = max(n, 1)
	full := min(int(offer/every), len(spans)) // intervals inside the offer
	if full < 2*n {
		return nil, nil
	}
	f, l := mergeSpans(spans[:n]), mergeSpans(spans[full-n:full])
	return &f, &l
}
