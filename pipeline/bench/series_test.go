package bench

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// exactMS is the benchmark's quantile of samples in seconds, in ms.
func exactMS(ds []float64, q float64) float64 {
	s := append([]float64(nil), ds...)
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1))] * 1000
}

func TestHistQuantilesWithinOnePercent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 7, 1000, 100000} {
		var h hist
		ds := make([]float64, n)
		for i := range ds {
			ds[i] = math.Exp(r.NormFloat64()*1.5 - 1) // ~ 10 ms … 30 s
			h.add(ds[i])
		}
		for _, q := range []float64{0, 0.5, 0.95, 0.99, 1} {
			got, ok := h.quantileMS(q)
			want := exactMS(ds, q)
			if !ok || math.Abs(got-want) > 0.01*want {
				t.Errorf("n=%d q=%v: %v ms, exact %v ms", n, q, got, want)
			}
		}
	}
}

func TestHistEdges(t *testing.T) {
	var h hist
	if _, ok := h.quantileMS(0.5); ok {
		t.Error("empty histogram has a quantile")
	}
	h.add(-0.5) // clocks of separate processes may disagree a little
	h.add(0)
	h.add(math.NaN())
	if got, _ := h.quantileMS(1); got != histMin*1000 {
		t.Errorf("non-positive durations: p100 %v ms", got)
	}
	h.add(1e6)
	if got, _ := h.quantileMS(1); got < 0.99*histMax*1000 {
		t.Errorf("beyond the last bucket: p100 %v ms", got)
	}
	var m hist
	m.merge(&h)
	m.merge(nil)
	if m.n != 4 {
		t.Errorf("merged %d samples, want 4", m.n)
	}
}

func rows(published ...time.Time) []*post.Enriched {
	out := make([]*post.Enriched, len(published))
	for i, p := range published {
		out[i] = &post.Enriched{}
		out[i].IngestedAt = p
	}
	return out
}

func TestRecorderAttributesByStoreTime(t *testing.T) {
	var r recorder
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	r.add(rows(at(-5)), at(-1)) // before the series: not in it
	r.reset(t0, time.Minute)
	r.add(rows(at(-2), at(9.9)), at(10))                // freshness 12 s and 100 ms
	r.add(rows(at(59.5)), at(60.5))                     // stored in the second minute
	r.add(rows(at(60), at(61), time.Time{}), at(61.25)) // no publication time: counted, no freshness
	r.add(rows(at(100)), at(150))                       // third minute

	if n, h := r.interval(0); n != 2 || h.n != 2 {
		t.Errorf("minute 1: %d stored, %d timed; want 2, 2", n, h.n)
	} else if p99, _ := h.quantileMS(0.99); math.Abs(p99-100) > 1 {
		// int(0.99·1) = 0: the smaller of the two.
		t.Errorf("minute 1 p99 %v ms, want 100", p99)
	}
	if n, h := r.interval(1); n != 4 || h.n != 3 {
		t.Errorf("minute 2: %d stored, %d timed; want 4, 3", n, h.n)
	}
	if n, h := r.interval(2); n != 1 || h.n != 1 {
		t.Errorf("minute 3: %d stored, %d timed", n, h.n)
	}
	if n, h := r.interval(7); n != 0 || h.n != 0 {
		t.Errorf("minute 8: %d stored", n)
	}
	// The run's window leaves out the post published before the start.
	if q := r.windowQuantilesMS(1); math.Abs(q[0]-50000) > 500 {
		t.Errorf("window p100 %v ms, want 50000 (the 12 s one is excluded)", q[0])
	}
	if !r.lastInsert().Equal(at(150)) {
		t.Errorf("last insert %v", r.lastInsert())
	}
}

// minuteSpans builds n one-minute spans: minute i stores 1000·(i+1) posts
// with freshness (i+1)·100 ms and uses i ClickHouse CPU seconds.
func minuteSpans(n int) []span {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]span, n)
	for i := range out {
		h := &hist{}
		stored := int64(1000 * (i + 1))
		for j := int64(0); j < stored; j++ {
			h.add(float64(i+1) * 0.1)
		}
		out[i] = span{start: t0.Add(time.Duration(i) * time.Minute), end: t0.Add(time.Duration(i+1) * time.Minute),
			offered: 5000, stored: stored, fresh: h, chOK: true, chCPU: float64(i), iwomCPU: 2, backlog: int64(i)}
	}
	return out
}

func TestFirstLast(t *testing.T) {
	spans := minuteSpans(13) // 12 minutes of offer and a minute of tail
	first, last := firstLast(spans, time.Minute, 12*time.Minute)
	if first == nil || last == nil {
		t.Fatal("no comparison for a 12-minute offer")
	}
	t0 := spans[0].start
	f, l := first.window(t0), last.window(t0)
	if f.From != 0 || f.To != 300 || f.Stored != 15000 || l.From != 420 || l.To != 720 || l.Stored != 8000+9000+10000+11000+12000 {
		t.Errorf("windows %+v %+v", f, l)
	}
	if f.CHCPUs == nil || *f.CHCPUs != 10 || math.Abs(*f.CHCPUPer1k-10.0/15) > 1e-9 {
		t.Errorf("first5 ClickHouse CPU %v per 1k %v", f.CHCPUs, f.CHCPUPer1k)
	}
	if math.Abs(*l.P99ms-1200) > 12 || math.Abs(*f.P50ms-400) > 4 {
		t.Errorf("freshness first p50 %v, last p99 %v", *f.P50ms, *l.P99ms)
	}
	if math.Abs(f.PostsPerS-50) > 1e-9 || math.Abs(*f.IwomCPUPer1k-10.0/15) > 1e-9 {
		t.Errorf("first5 %v posts/s, iwom %v s per 1k", f.PostsPerS, *f.IwomCPUPer1k)
	}

	if a, b := firstLast(spans, time.Minute, 9*time.Minute+59*time.Second); a != nil || b != nil {
		t.Error("comparison for an offer under 10 minutes")
	}
	// With 30 s intervals five minutes are ten of them.
	half := minuteSpans(20)
	if a, b := firstLast(half, 30*time.Second, 10*time.Minute); a == nil || a.stored != 55000 || b.stored != 155000 {
		t.Errorf("30 s intervals: %+v %+v", a, b)
	}
	// One interval without a ClickHouse reading: the window has none.
	spans[2].chOK = false
	if a, _ := firstLast(spans, time.Minute, 12*time.Minute); a.window(t0).CHCPUs != nil || a.window(t0).CHCPUPer1k != nil {
		t.Error("partial ClickHouse CPU reported")
	}
}

func TestMinuteJSON(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	empty := span{start: t0, end: t0.Add(30 * time.Second), offered: 10, fresh: &hist{}}
	data, _ := json.Marshal(empty.minute(t0))
	for _, k := range []string{`"freshness_p50_ms":null`, `"freshness_p99_ms":null`, `"clickhouse_cpu_s":null`, `"offered":10`, `"seconds":30`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("%s lacks %s", data, k)
		}
	}
	m := minuteSpans(2)[1].minute(t0)
	if m.Start != 60 || m.Stored != 2000 || *m.CHCPUs != 1 || math.Abs(*m.P50ms-200) > 2 {
		t.Errorf("minute %+v", m)
	}
}

// With separate processes, spans come from snapshot differences: row
// counts, the sink's histogram and CPU of every process.
func TestSpansFromSnapshots(t *testing.T) {
	e := &env{o: Options{Processes: true, SeriesInterval: time.Minute}, chm: &clickHouseMeter{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snaps := []snap{
		{at: t0, sent: 0, stored: 0, cpu: map[string]float64{"iwom-bench": 1, "iwom sink": 1}, ch: map[int]float64{10: 100}, chOK: true,
			prom: map[float64]float64{0.5: 0, 1: 0, math.Inf(1): 0}},
		{at: t0.Add(time.Minute), sent: 300, stored: 200, cpu: map[string]float64{"iwom-bench": 3, "iwom sink": 4}, ch: map[int]float64{10: 110}, chOK: true,
			prom: map[float64]float64{0.5: 100, 1: 200, math.Inf(1): 200}},
		// The server restarted as pid 11 during the last interval.
		{at: t0.Add(90 * time.Second), sent: 300, stored: 300, cpu: map[string]float64{"iwom-bench": 4, "iwom sink": 5}, ch: map[int]float64{11: 3}, chOK: true,
			prom: map[float64]float64{0.5: 100, 1: 200, math.Inf(1): 300}},
	}
	sp := e.spans(snaps)
	if len(sp) != 2 {
		t.Fatalf("%d spans", len(sp))
	}
	if sp[0].offered != 300 || sp[0].stored != 200 || sp[0].iwomCPU != 5 || sp[0].chCPU != 10 || sp[0].backlog != 100 {
		t.Errorf("first span %+v", sp[0])
	}
	if sp[1].stored != 100 || sp[1].chCPU != 3 || sp[1].prom[math.Inf(1)] != 100 || sp[1].prom[1] != 0 {
		t.Errorf("second span %+v", sp[1])
	}
	res := &Result{Mode: "processes", OfferedRate: 5}
	e.fillSeries(res, snaps, 90*time.Second)
	if len(res.Minutes) != 2 || res.Offered != 300 || res.IwomCPUs != 7 || res.CHCPUs == nil || *res.CHCPUs != 13 || res.First5 != nil {
		t.Errorf("result %+v", res)
	}
	if p50 := res.Minutes[0].P50ms; p50 == nil || math.Abs(*p50-500) > 1e-9 {
		t.Errorf("minute 1 p50 %v, want 500 ms (interpolated from the sink's buckets)", p50)
	}
	md := Markdown([]*Result{res})
	for _, want := range []string{"| from (s) | offered | stored |", "| 60 | 0 | 100 |", "ClickHouse server 13.0 s"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
