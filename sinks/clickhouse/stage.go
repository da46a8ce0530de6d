package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
)

// errAppend marks a batch the driver could not build (a value it cannot
// encode): the stage isolates the post by bisection.
var errAppend = errors.New("encoding a row for ClickHouse")

// Stage is the sink as a pipeline stage: each pulled batch (bounded by
// clickhouse.batch_size and clickhouse.flush_interval through the pull
// size and wait) becomes one INSERT into posts_store of the changes the
// Ledger plans (new rows, and cancel rows of the observations they
// replace); the materialized views update every rollup from the same
// block. Its cost is proportional to the batch, whatever is stored.
//
// While ClickHouse is unreachable the stage answers stage.ErrUnavailable,
// and the runner holds the messages in progress and hands them back with
// backoff. An insert that failed may still have been stored, so before
// trying again the stage reads the batch's posts back from posts_store
// (Ledger.Resync) and plans again: a retry never writes a row twice. Rows ClickHouse rejects as
// invalid are isolated by bisection and reported as invalid
// (dead-lettered). One batch is written at a time.
type Stage struct {
	W   *Writer
	L   *Ledger
	Log zerolog.Logger
	*Metrics
	// OnInserted, when set, is called after each successful insert with the
	// rows stored and the time ClickHouse confirmed them (benchmarks use it
	// to measure freshness exactly).
	OnInserted func(rows []*post.Enriched, at time.Time)
	// Repair, when set, repairs the rollups of the given hours after an
	// insert whose outcome was unknown (a ClickHouse server killed while
	// its materialized views ran can store a block in some tables only).
	Repair func(ctx context.Context, hours []time.Time) error

	mu        sync.Mutex // one batch at a time: the ledger's single writer
	synced    bool
	uncertain map[string]bool     // keys of inserts whose outcome is unknown
	repair    map[int64]time.Time // hours to repair once ClickHouse answers
}

// Metrics of the sink.
type Metrics struct {
	// Inserted counts posts stored (new or newer observations);
	// InsertSeconds times successful inserts.
	Inserted      prometheus.Counter
	Skipped       prometheus.Counter
	InsertSeconds prometheus.Histogram
	Retries       prometheus.Counter
	// Freshness is the time from a post's publication by its connector
	// (ingested_at) to its row being stored and visible in ClickHouse.
	Freshness prometheus.Histogram
}

// NewMetrics registers the sink metrics on reg (once per registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		Inserted:      f.NewCounter(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "rows_inserted_total", Help: "Posts stored in posts_store (new posts and newer observations)."}),
		Skipped:       f.NewCounter(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "rows_unchanged_total", Help: "Messages that needed no write: duplicates and older observations of stored posts."}),
		InsertSeconds: f.NewHistogram(prometheus.HistogramOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "insert_seconds", Help: "Latency of successful batch inserts.", Buckets: prometheus.ExponentialBuckets(0.002, 2.5, 10)}),
		Retries:       f.NewCounter(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "insert_retries_total", Help: "Insert attempts that failed and were retried."}),
		Freshness: f.NewHistogram(prometheus.HistogramOpts{Namespace: "iwom", Name: "freshness_seconds",
			Help:    "Time from a post's publication (ingested_at) to its row being stored in ClickHouse.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800}}),
	}
}

// NewStage builds the sink stage.
func NewStage(w *Writer, l *Ledger, m *Metrics, log zerolog.Logger) *Stage {
	return &Stage{W: w, L: l, Log: log, Metrics: m,
		Repair: func(ctx context.Context, hours []time.Time) error {
			_, err := Repair(ctx, w.Conn, w.Database, hours)
			return err
		}}
}

// Process implements stage.Stage.
func (s *Stage) Process(ctx context.Context, msgs []stage.Msg) []stage.Result {
	errs := make([]error, len(msgs))
	rows := make([]*post.Enriched, 0, len(msgs))
	idx := make([]int, 0, len(msgs))
	for i, m := range msgs {
		e, err := post.DecodeEnriched(m.Data)
		if err != nil {
			errs[i] = err
			continue
		}
		if !s.L.Owns(e.Key()) {
			continue // another partition's sink stores it
		}
		if err := Storable(e); err != nil {
			errs[i] = err
			continue
		}
		rows = append(rows, e)
		idx = append(idx, i)
	}
	if len(rows) == 0 {
		return stage.Errs(errs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rowErrs := s.store(ctx, rows)
	for j, err := range rowErrs {
		errs[idx[j]] = err
	}
	return stage.Errs(errs)
}

// store writes rows and returns one error per row. What fails for want of
// ClickHouse (unreachable, timeouts, a table renamed away, the server
// restarting) wraps stage.ErrUnavailable: the runner holds it and calls
// again.
func (s *Stage) store(ctx context.Context, rows []*post.Enriched) []error {
	out := make([]error, len(rows))
	fail := func(err error) []error {
		for i := range out {
			out[i] = err
		}
		return out
	}
	err := s.ready(ctx)
	if err == nil {
		var changes []Change
		var at []int
		changes, at, err = s.L.Plan(rows)
		if err != nil {
			return fail(err) // the state store failed: redelivered later
		}
		s.Skipped.Add(float64(len(rows) - len(changes)))
		if len(changes) == 0 {
			return out
		}
		start := time.Now()
		var bad []RowError
		bad, err = s.W.Write(ctx, changes)
		if err == nil {
			now := time.Now()
			s.InsertSeconds.Observe(now.Sub(start).Seconds())
			for _, b := range bad {
				out[at[b.Index]] = fmt.Errorf("%w: encoding row for ClickHouse: %v", post.ErrInvalid, b.Err)
			}
			s.stored(ctx, dropBad(changes, bad), now)
			return out
		}
		if errors.Is(err, errAppend) || IsDataError(err) {
			for i, e := range s.bisect(ctx, changes) {
				out[at[i]] = e
			}
			return out
		}
		// Unless nothing was sent, the insert may have been stored:
		// read its posts back before planning again.
		if !errors.Is(err, ErrNotSent) {
			s.markUncertain(changes)
		}
	}
	if ctx.Err() != nil {
		return fail(fmt.Errorf("inserting into ClickHouse: %w", ctx.Err()))
	}
	s.Retries.Inc()
	return fail(fmt.Errorf("ClickHouse insert of %d rows: %w: %w", len(rows), stage.ErrUnavailable, err))
}

var errResync = errors.New("bringing the sink state in line with ClickHouse")

// ready loads the state store at start, reads back the posts of inserts
// whose outcome is unknown, and repairs the hours they touched.
func (s *Stage) ready(ctx context.Context) error {
	if !s.synced {
		if _, err := s.L.Sync(ctx); err != nil {
			return fmt.Errorf("%w: %w", errResync, err)
		}
		s.synced = true
	}
	if len(s.uncertain) > 0 {
		keys := make([]string, 0, len(s.uncertain))
		for k := range s.uncertain {
			keys = append(keys, k)
		}
		if err := s.L.Resync(ctx, keys); err != nil {
			return fmt.Errorf("%w: %w", errResync, err)
		}
		s.uncertain = nil
	}
	if len(s.repair) > 0 && s.Repair != nil {
		hours := make([]time.Time, 0, len(s.repair))
		for _, h := range s.repair {
			hours = append(hours, h)
		}
		if err := s.Repair(ctx, hours); err != nil {
			if IsUnavailable(err) {
				return err
			}
			s.Log.Error().Err(err).Int("hours", len(hours)).Msg("repairing the rollups after an insert of unknown outcome failed; run iwom report rebuild")
		} else {
			s.Log.Info().Int("hours", len(hours)).Msg("rollups checked after an insert of unknown outcome")
		}
		s.repair = nil
	}
	return nil
}

// markUncertain records the keys and hours of an insert whose outcome is
// unknown.
func (s *Stage) markUncertain(changes []Change) {
	if s.uncertain == nil {
		s.uncertain = map[string]bool{}
	}
	if s.repair == nil {
		s.repair = map[int64]time.Time{}
	}
	for _, c := range changes {
		s.uncertain[c.New.Key()] = true
		h := utc(c.New.CreatedAt).Truncate(time.Hour)
		s.repair[h.Unix()] = h
		if c.Old != nil {
			h := time.Unix(int64(c.Old.CreatedAt), 0).UTC().Truncate(time.Hour)
			s.repair[h.Unix()] = h
		}
	}
}

// stored commits changes to the state store and records their freshness.
func (s *Stage) stored(ctx context.Context, changes []Change, at time.Time) {
	if err := s.L.Commit(changes); err != nil {
		// Stored in ClickHouse but not in the state: read them back
		// before the next batch.
		s.Log.Error().Err(err).Msg("committing the sink state; reading the batch back from ClickHouse")
		s.markUncertain(changes)
	}
	s.Inserted.Add(float64(len(changes)))
	rows := make([]*post.Enriched, len(changes))
	for i, c := range changes {
		rows[i] = c.New
		if !c.New.IngestedAt.IsZero() {
			s.Freshness.Observe(at.Sub(c.New.IngestedAt).Seconds())
		}
	}
	if s.OnInserted != nil {
		s.OnInserted(rows, at)
	}
}

func dropBad(changes []Change, bad []RowError) []Change {
	if len(bad) == 0 {
		return changes
	}
	skip := make(map[int]bool, len(bad))
	for _, b := range bad {
		skip[b.Index] = true
	}
	out := make([]Change, 0, len(changes)-len(bad))
	for i, c := range changes {
		if !skip[i] {
			out = append(out, c)
		}
	}
	return out
}

// bisect isolates the changes ClickHouse rejects: halves are written on
// their own until a single change fails, which is reported invalid.
func (s *Stage) bisect(ctx context.Context, changes []Change) []error {
	out := make([]error, len(changes))
	var rec func(lo, hi int)
	rec = func(lo, hi int) {
		if lo >= hi || ctx.Err() != nil {
			return
		}
		bad, err := s.W.Write(ctx, changes[lo:hi])
		if err == nil {
			for _, b := range bad {
				out[lo+b.Index] = fmt.Errorf("%w: encoding row for ClickHouse: %v", post.ErrInvalid, b.Err)
			}
			s.stored(ctx, dropBad(changes[lo:hi], bad), time.Now())
			return
		}
		if !errors.Is(err, errAppend) && !IsDataError(err) {
			if !errors.Is(err, ErrNotSent) {
				s.markUncertain(changes[lo:hi])
			}
			for i := lo; i < hi; i++ {
				out[i] = fmt.Errorf("ClickHouse insert: %w: %w", stage.ErrUnavailable, err) // held and retried
			}
			return
		}
		if hi-lo == 1 {
			out[lo] = fmt.Errorf("%w: ClickHouse rejected the row: %v", post.ErrInvalid, err)
			return
		}
		mid := (lo + hi) / 2
		rec(lo, mid)
		rec(mid, hi)
	}
	rec(0, len(changes))
	for i := range out {
		if out[i] == nil && ctx.Err() != nil {
			out[i] = errors.Join(errors.New("inserting into ClickHouse"), ctx.Err())
		}
	}
	return out
}
