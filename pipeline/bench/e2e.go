package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/pprof/profile"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
	"github.com/iwom/iwom/pipeline/synth"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// Options configure an end-to-end run.
type Options struct {
	Cfg          *config.Config // ClickHouse address and credentials; NATS is always embedded
	Database     string         // dropped and recreated; default iwom_bench
	Rate         float64        // offered posts/s; 0 with Ramp false: as fast as possible
	Duration     time.Duration  // how long to offer Rate
	Count        int            // posts for the as-fast-as-possible run
	Ramp         []float64      // offered rates to step through to find the knee
	StepDuration time.Duration  // per ramp step
	Soak         time.Duration  // after a ramp: hold 80% of the knee this long
	Processes    bool           // each stage in its own process
	Binary       string         // the iwom binary for Processes
	Profile      bool           // CPU profile (in-process only)
	Seed         uint64
	// SeriesInterval is the length of the intervals of a run's series
	// (Result.Minutes); default a minute.
	SeriesInterval time.Duration
	Log            zerolog.Logger
}

type env struct {
	o        Options
	cfg      *config.Config
	a        *app.App
	pub      *connectors.JetStreamPublisher
	pool     []*post.Post
	sent     atomic.Int64
	run      string
	cancel   context.CancelFunc
	wait     func()
	procs    map[string]*exec.Cmd
	sinkURL  string
	rec      recorder // in-process: what the sink stored, per interval
	storedIn atomic.Int64
	chm      *clickHouseMeter
}

// Run runs the benchmark described by o and returns one result per phase.
func Run(ctx context.Context, o Options) ([]*Result, error) {
	e, err := setup(ctx, o)
	if err != nil {
		return nil, err
	}
	defer e.close()
	var out []*Result
	switch {
	case len(o.Ramp) > 0:
		r, err := e.ramp(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		if o.Soak > 0 && r.Knee > 0 {
			s, err := e.fixed(ctx, 0.8*r.Knee, o.Soak)
			if err != nil {
				return nil, err
			}
			s.Note = fmt.Sprintf("Soak: 80%% of the knee (%.0f posts/s) held for %s.", r.Knee, o.Soak)
			out = append(out, s)
		}
	case o.Rate > 0:
		r, err := e.fixed(ctx, o.Rate, o.Duration)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	default:
		r, err := e.max(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func setup(ctx context.Context, o Options) (*env, error) {
	if o.Database == "" {
		o.Database = "iwom_bench"
	}
	if o.SeriesInterval <= 0 {
		o.SeriesInterval = time.Minute
	}
	cfg := *o.Cfg
	dir, err := os.MkdirTemp("", "iwom-bench-")
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	cfg.NATS.URL = ""
	cfg.NATS.Storage = "file"
	cfg.NATS.EmbeddedListen = ""
	cfg.ClickHouse.Database = o.Database
	cfg.Log.StatsInterval = time.Hour
	if o.Processes {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cfg.NATS.EmbeddedListen = "127.0.0.1:" + strconv.Itoa(port)
	}
	e := &env{o: o, cfg: &cfg, run: strconv.FormatInt(time.Now().UnixNano()%1e9, 36), procs: map[string]*exec.Cmd{}, chm: newClickHouseMeter(cfg.ClickHouse.Addrs())}
	e.a, err = app.Open(ctx, &cfg, o.Log)
	if err != nil {
		return nil, err
	}
	conn, err := e.a.ClickHouse()
	if err != nil {
		return nil, err
	}
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+o.Database); err != nil {
		return nil, fmt.Errorf("dropping %s: %w", o.Database, err)
	}
	if _, err := chsink.Migrate(ctx, conn, o.Database, o.Log); err != nil {
		return nil, err
	}
	wl, err := brands.Load(cfg.Enrich.BrandsFile)
	if err != nil {
		return nil, err
	}
	if err := e.makePool(wl); err != nil {
		return nil, err
	}
	e.pub = e.a.Publisher("bench")
	if o.Processes {
		err = e.startProcesses()
	} else {
		err = e.startInProcess()
	}
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) makePool(wl *brands.WatchList) error {
	g, err := synth.New(synth.Options{Count: 20000, Seed: e.o.Seed + 1, Scenario: synth.ScenarioSteady}, wl)
	if err != nil {
		return err
	}
	e.pool = g.All()
	return nil
}

func (e *env) startInProcess() error {
	er, err := e.a.EnrichRunner()
	if err != nil {
		return err
	}
	sr, err := e.a.SinkRunner()
	if err != nil {
		return err
	}
	st, ok := sr.Stage.(*chsink.Stage)
	if !ok {
		return fmt.Errorf("sink stage is %T", sr.Stage)
	}
	st.OnInserted = func(rows []*post.Enriched, at time.Time) {
		e.rec.add(rows, at)
		e.storedIn.Add(int64(len(rows)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	var wg sync.WaitGroup
	for _, r := range []*stage.Runner{er, sr} {
		wg.Add(1)
		go func(r *stage.Runner) { defer wg.Done(); _ = r.Run(ctx) }(r)
	}
	e.wait = wg.Wait
	return nil
}

func (e *env) startProcesses() error {
	bin := e.o.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		name string
		args []string
	}{{"enrich", []string{"enrich"}}, {"sink", []string{"sink", "clickhouse"}}} {
		port, err := freePort()
		if err != nil {
			return err
		}
		cmd := exec.Command(bin, p.args...)
		c := e.cfg.ClickHouse
		cmd.Env = append(os.Environ(),
			"IWOM_NATS_URL=nats://"+e.cfg.NATS.EmbeddedListen,
			"IWOM_CLICKHOUSE_ADDR="+c.Addr,
			"IWOM_CLICKHOUSE_USER="+c.User,
			"IWOM_CLICKHOUSE_PASSWORD="+c.Password,
			"IWOM_CLICKHOUSE_DATABASE="+c.Database,
			"IWOM_METRICS_LISTEN=127.0.0.1:"+strconv.Itoa(port),
			"IWOM_LOG_LEVEL=warn",
			"IWOM_DATA_DIR="+filepath.Join(e.cfg.DataDir, p.name),
		)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting iwom %s: %w", p.name, err)
		}
		e.procs[p.name] = cmd
		if p.name == "sink" {
			e.sinkURL = "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
		}
		ready := "http://127.0.0.1:" + strconv.Itoa(port) + "/readyz"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ok := waitFor(ctx, 100*time.Millisecond, func() bool {
			resp, err := http.Get(ready)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		cancel()
		if !ok {
			return fmt.Errorf("iwom %s did not become ready", p.name)
		}
	}
	return nil
}

func (e *env) close() {
	if e.cancel != nil {
		e.cancel()
		e.wait()
	}
	for _, p := range e.procs {
		_ = p.Process.Signal(os.Interrupt)
		_ = p.Wait()
	}
	if e.a != nil {
		e.a.Close()
	}
	_ = os.RemoveAll(e.cfg.DataDir)
}

// stored is the number of rows the sink has stored so far.
func (e *env) stored(ctx context.Context) int64 {
	if !e.o.Processes {
		return e.storedIn.Load()
	}
	conn, err := e.a.ClickHouse()
	if err != nil {
		return 0
	}
	var n uint64
	_ = conn.QueryRow(ctx, "SELECT toUInt64(sum(sign)) FROM "+e.cfg.ClickHouse.Database+".posts_store").Scan(&n)
	return int64(n)
}

// publish offers posts at rate for d (rate 0: count posts at once).
func (e *env) publish(ctx context.Context, rate float64, d time.Duration, count int) error {
	start := time.Now()
	var n int64
	for {
		var due int64
		if rate > 0 {
			el := time.Since(start)
			if el >= d {
				break
			}
			due = int64(rate*el.Seconds()) - n
		} else {
			if n >= int64(count) {
				break
			}
			due = int64(count) - n
		}
		for i := int64(0); i < due; i++ {
			src := e.pool[int(e.sent.Load())%len(e.pool)]
			p := *src
			p.ID = "b" + e.run + "-" + strconv.FormatInt(e.sent.Add(1), 10)
			p.CreatedAt = time.Now().UTC().Truncate(time.Second)
			p.IngestedAt = time.Time{}
			if err := e.pub.Publish(ctx, &p); err != nil {
				return err
			}
			n++
		}
		if rate > 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	return e.pub.Flush(ctx)
}

// fixed offers rate for d and measures the window.
func (e *env) fixed(ctx context.Context, rate float64, d time.Duration) (*Result, error) {
	res := e.newResult(rate)
	prof := e.startProfile()
	ser := e.startSeries(ctx)
	first := ser.first
	t0, s0 := first.at, first.stored
	if err := e.publish(ctx, rate, d, 0); err != nil {
		ser.stop(ctx)
		return nil, err
	}
	t1 := time.Now()
	if offered := e.sent.Load() - first.sent; offered > 0 {
		pct := 100 * float64(e.stored(ctx)-s0) / float64(offered)
		res.StoredByOfferEndPct = &pct
	}
	// Let the tail drain so its freshness is counted; the sustained rate is
	// what was stored over the time it took to store it.
	e.drain(ctx, 60*time.Second)
	snaps := ser.stop(ctx)
	res.Posts = snaps[len(snaps)-1].stored - s0
	res.Seconds = e.lastStored(t1).Sub(t0).Seconds()
	res.PostsPerS = float64(res.Posts) / res.Seconds
	e.fillFreshness(res, first.prom)
	e.fillProcesses(res, first.cpu)
	e.fillSeries(res, snaps, d)
	e.stopProfile(prof, res)
	return res, nil
}

// max publishes Count posts as fast as possible and measures until all are
// stored.
func (e *env) max(ctx context.Context) (*Result, error) {
	count := e.o.Count
	if count <= 0 {
		count = 200000
	}
	res := e.newResult(0)
	prof := e.startProfile()
	ser := e.startSeries(ctx)
	first := ser.first
	t0, s0 := first.at, first.stored
	errc := make(chan error, 1)
	go func() { errc <- e.publish(ctx, 0, 0, count) }()
	want := s0 + int64(count)
	waitFor(ctx, 20*time.Millisecond, func() bool { return e.stored(ctx) >= want })
	if err := <-errc; err != nil {
		ser.stop(ctx)
		return nil, err
	}
	t1 := time.Now()
	snaps := ser.stop(ctx)
	res.Posts = snaps[len(snaps)-1].stored - s0
	res.Seconds = t1.Sub(t0).Seconds()
	res.PostsPerS = float64(res.Posts) / res.Seconds
	e.fillFreshness(res, first.prom)
	e.fillProcesses(res, first.cpu)
	e.fillSeries(res, snaps, 0)
	e.stopProfile(prof, res)
	res.Note = fmt.Sprintf("As fast as possible: %d posts published at once; freshness here is mostly queueing behind the backlog.", count)
	return res, nil
}

// ramp steps through the offered rates and finds the knee: the highest rate
// the pipeline kept up with.
func (e *env) ramp(ctx context.Context) (*Result, error) {
	res := e.newResult(0)
	res.Note = "Ramp: each step offers its rate for " + e.o.StepDuration.String() + "; a step keeps up when it stores ≥ 95% of what it was offered and ends less than a second behind."
	for _, rate := range e.o.Ramp {
		r, err := e.fixed(ctx, rate, e.o.StepDuration)
		if err != nil {
			return nil, err
		}
		backlog := e.sent.Load() - e.stored(ctx)
		st := Step{Offered: rate, Achieved: r.PostsPerS, P99ms: r.P99ms, Backlog: uint64(max(backlog, 0))}
		st.Kept = r.PostsPerS >= 0.95*rate && r.P99ms < 5000
		res.Ramp = append(res.Ramp, st)
		res.Posts += r.Posts
		res.Seconds += r.Seconds
		res.PeakRSSMB = r.PeakRSSMB
		res.Offered += r.Offered
		res.IwomCPUs += r.IwomCPUs
		res.CHCPUNote = r.CHCPUNote
		if r.CHCPUs != nil {
			v := *r.CHCPUs
			if res.CHCPUs != nil {
				v += *res.CHCPUs
			}
			res.CHCPUs = &v
		}
		if st.Kept {
			res.Knee = rate
		} else {
			break
		}
	}
	if res.Seconds > 0 {
		res.PostsPerS = float64(res.Posts) / res.Seconds
	}
	res.OfferedRate = res.Knee
	return res, nil
}

// lastStored is when the last row was stored (in-process), or now.
func (e *env) lastStored(atLeast time.Time) time.Time {
	if e.o.Processes {
		return time.Now()
	}
	if last := e.rec.lastInsert(); last.After(atLeast) {
		return last
	}
	return atLeast
}

// drain waits until everything sent is stored (or the timeout).
func (e *env) drain(ctx context.Context, timeout time.Duration) {
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	waitFor(c, 20*time.Millisecond, func() bool { return e.stored(ctx) >= e.sent.Load() })
}

func (e *env) newResult(rate float64) *Result {
	mode := "inprocess"
	if e.o.Processes {
		mode = "processes"
	}
	return &Result{Mode: mode, Machine: Machine(), When: time.Now().UTC(), OfferedRate: rate, PeakRSSMB: map[string]float64{}, CPUSeconds: map[string]float64{}}
}

func (e *env) fillFreshness(res *Result, before map[float64]float64) {
	if e.o.Processes {
		after := e.scrape()
		q := histQuantiles(before, after, 0.5, 0.95, 0.99)
		res.P50ms, res.P95ms, res.P99ms = q[0], q[1], q[2]
		return
	}
	// The recorder's window holds the posts published since the series
	// started (t0); nothing is published between t1 and now.
	q := e.rec.windowQuantilesMS(0.5, 0.95, 0.99)
	res.P50ms, res.P95ms, res.P99ms = q[0], q[1], q[2]
}

// snap is the state of a run at one boundary of its series.
type snap struct {
	at     time.Time
	sent   int64
	stored int64
	cpu    map[string]float64 // iwom processes
	rssMB  float64            // iwom processes, now
	ch     map[int]float64    // ClickHouse server pid → CPU seconds
	chOK   bool
	prom   map[float64]float64 // separate processes: the sink's freshness histogram
}

func (e *env) snapshot(ctx context.Context) snap {
	s := snap{at: time.Now(), sent: e.sent.Load()}
	s.stored = e.stored(ctx)
	s.cpu = e.cpu()
	s.rssMB = RSSMB(os.Getpid())
	for _, p := range e.procs {
		s.rssMB += RSSMB(p.Process.Pid)
	}
	s.ch, s.chOK = e.chm.read()
	s.prom = e.scrape()
	return s
}

// series takes a snapshot at the start of a run and at every
// SeriesInterval boundary after it, until stopped.
type series struct {
	e     *env
	first snap
	snaps []snap // written by the sampler until done is closed
	stopc chan struct{}
	done  chan struct{}
}

// startSeries takes the first snapshot, restarts the in-process recorder
// from it and starts the sampler.
func (e *env) startSeries(ctx context.Context) *series {
	first := e.snapshot(ctx)
	every := e.o.SeriesInterval
	e.rec.reset(first.at, every)
	sr := &series{e: e, first: first, snaps: []snap{first}, stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sr.done)
		// One snapshot per boundary even when one is late, so that the
		// i-th span is the recorder's i-th interval.
		for k := 1; ; k++ {
			t := time.NewTimer(time.Until(first.at.Add(time.Duration(k) * every)))
			select {
			case <-sr.stopc:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			sr.snaps = append(sr.snaps, e.snapshot(ctx))
		}
	}()
	return sr
}

// stop ends the sampler and takes the last snapshot (the end of a last,
// usually shorter, interval).
func (sr *series) stop(ctx context.Context) []snap {
	close(sr.stopc)
	<-sr.done
	sr.snaps = append(sr.snaps, sr.e.snapshot(ctx))
	return sr.snaps
}

// spans turns consecutive snapshots into intervals. In-process, stored
// posts and their freshness come exactly from the recorder; with separate
// processes from ClickHouse's row count and the sink's histogram.
func (e *env) spans(snaps []snap) []span {
	var out []span
	for i := 0; i+1 < len(snaps); i++ {
		a, b := snaps[i], snaps[i+1]
		sp := span{start: a.at, end: b.at, offered: b.sent - a.sent, backlog: max(b.sent-b.stored, 0), rssMB: b.rssMB}
		for k, v := range b.cpu {
			if d := v - a.cpu[k]; d > 0 {
				sp.iwomCPU += d
			}
		}
		if a.chOK && b.chOK {
			sp.chOK = true
			for pid, v := range b.ch {
				// A pid not seen before is a server (re)started within
				// the interval: all its CPU time is in it.
				if d := v - a.ch[pid]; d > 0 {
					sp.chCPU += d
				}
			}
		}
		if e.o.Processes {
			sp.stored = b.stored - a.stored
			sp.prom = map[float64]float64{}
			for le, c := range b.prom {
				sp.prom[le] = c - a.prom[le]
			}
		} else {
			sp.stored, sp.fresh = e.rec.interval(i)
		}
		out = append(out, sp)
	}
	return out
}

// fillSeries adds the series, the run's CPU totals and, for offers of ten
// minutes or more, the first and last five minutes.
func (e *env) fillSeries(res *Result, snaps []snap, offer time.Duration) {
	spans := e.spans(snaps)
	t0 := snaps[0].at
	res.SeriesIntervalS = e.o.SeriesInterval.Seconds()
	for _, sp := range spans {
		res.Minutes = append(res.Minutes, sp.minute(t0))
	}
	total := mergeSpans(spans)
	res.Offered = total.offered
	res.IwomCPUs = total.iwomCPU
	if total.chOK {
		v := total.chCPU
		res.CHCPUs = &v
	}
	res.CHCPUNote = e.chm.note
	if first, last := firstLast(spans, e.o.SeriesInterval, offer); first != nil {
		res.First5, res.Last5 = first.window(t0), last.window(t0)
	}
}

func (e *env) cpu() map[string]float64 {
	out := map[string]float64{"iwom-bench": CPUSeconds(os.Getpid())}
	for name, p := range e.procs {
		out["iwom "+name] = CPUSeconds(p.Process.Pid)
	}
	return out
}

func (e *env) fillProcesses(res *Result, cpu0 map[string]float64) {
	name := "iwom (all stages + NATS)"
	if e.o.Processes {
		name = "iwom-bench (generator + NATS)"
	}
	res.PeakRSSMB[name] = PeakRSSMB(os.Getpid())
	for n, p := range e.procs {
		res.PeakRSSMB["iwom "+n] = PeakRSSMB(p.Process.Pid)
	}
	if e.o.Processes {
		for k, v := range e.cpu() {
			res.CPUSeconds[k] = v - cpu0[k]
		}
	}
}

type profState struct{ buf *bytes.Buffer }

func (e *env) startProfile() *profState {
	if !e.o.Profile || e.o.Processes {
		return nil
	}
	ps := &profState{buf: &bytes.Buffer{}}
	if err := pprof.StartCPUProfile(ps.buf); err != nil {
		return nil
	}
	return ps
}

// stopProfile summarises the CPU profile: seconds per stage (from the
// stage label the runner sets) and the top functions.
func (e *env) stopProfile(ps *profState, res *Result) {
	if ps == nil {
		return
	}
	pprof.StopCPUProfile()
	p, err := profile.Parse(ps.buf)
	if err != nil || len(p.SampleType) == 0 {
		return
	}
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	var total int64
	flat := map[string]int64{}
	cum := map[string]int64{}
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		st := "other (NATS server, publisher, GC, runtime)"
		if l := s.Label["stage"]; len(l) > 0 {
			st = l[0]
		}
		res.CPUSeconds[st] += float64(v) / 1e9
		seen := map[string]bool{}
		for i, loc := range s.Location {
			for _, ln := range loc.Line {
				if ln.Function == nil {
					continue
				}
				fn := ln.Function.Name
				if i == 0 {
					flat[fn] += v
				}
				if !seen[fn] {
					cum[fn] += v
					seen[fn] = true
				}
			}
		}
	}
	if total == 0 {
		return
	}
	type fv struct {
		fn string
		v  int64
	}
	var fs []fv
	for fn, v := range flat {
		fs = append(fs, fv{fn, v})
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].v > fs[j].v })
	for i := 0; i < len(fs) && i < 15; i++ {
		res.Profile = append(res.Profile, ProfileLine{Function: fs[i].fn, FlatPct: 100 * float64(fs[i].v) / float64(total), CumPct: 100 * float64(cum[fs[i].fn]) / float64(total)})
	}
}

// scrape reads the sink process's freshness histogram buckets (le → count).
func (e *env) scrape() map[float64]float64 {
	if e.sinkURL == "" {
		return nil
	}
	resp, err := http.Get(e.sinkURL)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[float64]float64{}
	buf := new(bytes.Buffer)
	_, _ = buf.ReadFrom(resp.Body)
	for _, l := range strings.Split(buf.String(), "\n") {
		if !strings.HasPrefix(l, "iwom_freshness_seconds_bucket{") {
			continue
		}
		i := strings.Index(l, `le="`)
		j := strings.Index(l[i+4:], `"`)
		le, err := strconv.ParseFloat(l[i+4:i+4+j], 64)
		if err != nil {
			le = math.Inf(1)
		}
		f := strings.Fields(l)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		out[le] = v
	}
	return out
}

// histQuantiles interpolates quantiles (ms) from the difference of two
// cumulative histogram scrapes.
func histQuantiles(before, after map[float64]float64, qs ...float64) []float64 {
	les := make([]float64, 0, len(after))
	for le := range after {
		les = append(les, le)
	}
	sort.Float64s(les)
	out := make([]float64, len(qs))
	if len(les) == 0 {
		return out
	}
	total := after[les[len(les)-1]] - before[les[len(les)-1]]
	if total <= 0 {
		return out
	}
	for qi, q := range qs {
		target := q * total
		prevLe, prevC := 0.0, 0.0
		for _, le := range les {
			c := after[le] - before[le]
			if c >= target {
				if math.IsInf(le, 1) {
					out[qi] = prevLe * 1000
				} else {
					frac := 0.0
					if c > prevC {
						frac = (target - prevC) / (c - prevC)
					}
					out[qi] = (prevLe + frac*(le-prevLe)) * 1000
				}
				break
			}
			prevLe, prevC = le, c
		}
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
