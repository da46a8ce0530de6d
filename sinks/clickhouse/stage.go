package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/post"
)

// Stage is the sink as a pipeline stage: each pulled batch (bounded by
// clickhouse.batch_size and clickhouse.flush_interval through the pull
// size and wait) is inserted in one ClickHouse batch. While ClickHouse is
// unreachable it retries with backoff, keeping the messages in progress so
// JetStream does not redeliver them; rows ClickHouse rejects as invalid are
// isolated by bisection and reported as invalid (dead-lettered).
//
// After each insert, and before the batch is acked, it rebuilds the rollups
// of the hours the batch touched (see Builder), so that an acked post is in
// every rollup exactly once. At most every SweepEvery it also rebuilds up to
// SweepHours hours whose posts changed outside the sink (rollup_dirty).
type Stage struct {
	W        *Writer
	RetryMin time.Duration
	RetryMax time.Duration
	Log      zerolog.Logger
	*Metrics
	// OnInserted, when set, is called after each successful insert with the
	// rows stored and the time ClickHouse confirmed them (benchmarks use it
	// to measure freshness exactly).
	OnInserted func(rows []*post.Enriched, at time.Time)
	// Rollups rebuilds the rollup tables; nil disables them.
	Rollups    *Builder
	SweepEvery time.Duration
	SweepHours int

	mu          sync.Mutex // guards lastSweep and lastFailLog (Process runs in parallel)
	lastSweep   time.Time
	lastFailLog time.Time
}

// Metrics of the sink.
type Metrics struct {
	// Inserted counts rows stored; InsertSeconds times successful inserts.
	Inserted      prometheus.Counter
	InsertSeconds prometheus.Histogram
	Retries       prometheus.Counter
	// Freshness is the time from a post's publication by its connector
	// (ingested_at) to its row being stored and visible in ClickHouse.
	Freshness prometheus.Histogram
	// RollupSeconds times rollup rebuilds (after inserts and sweeps),
	// RollupHours counts the hours rebuilt, RollupErrors the rebuilds that
	// failed and were left to the sweep.
	RollupSeconds prometheus.Histogram
	RollupHours   prometheus.Counter
	RollupErrors  prometheus.Counter
}

// NewMetrics registers the sink metrics on reg (once per registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		Inserted:      f.NewCounter(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "rows_inserted_total", Help: "Rows inserted into posts_store."}),
		InsertSeconds: f.NewHistogram(prometheus.HistogramOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "insert_seconds", Help: "Latency of successful batch inserts.", Buckets: prometheus.ExponentialBuckets(0.002, 2.5, 10)}),
		Retries:       f.NewCounter(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "insert_retries_total", Help: "Insert attempts that failed and were retried."}),
		Freshness: f.NewHistogram(prometheus.HistogramOpts{Namespace: "iwom", Name: "freshness_seconds",
			Help:    "Time from a post's publication (ingested_at) to its row being stored in ClickHouse.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800}}),
		RollupSeconds: f.NewHistogram(prometheus.HistogramOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "rollup_rebuild_seconds", Help: "Latency of rollup rebuilds.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)}),
		RollupHours:   f.NewCounter(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "rollup_hours_rebuilt_total", Help: "Hours whose rollups were rebuilt."}),
		RollupErrors:  f.NewCounter(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "clickhouse", Name: "rollup_rebuild_errors_total", Help: "Rollup rebuilds that failed (left to the sweep)."}),
	}
}

// NewStage builds the sink stage.
func NewStage(w *Writer, retryMin, retryMax time.Duration, m *Metrics, log zerolog.Logger) *Stage {
	return &Stage{W: w, RetryMin: retryMin, RetryMax: retryMax, Log: log, Metrics: m,
		Rollups: NewBuilder(w.Conn, w.Database), SweepEvery: 30 * time.Second, SweepHours: 24}
}

// Process implements stage.Stage.
func (s *Stage) Process(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	rows := make([]*post.Enriched, 0, len(msgs))
	idx := make([]int, 0, len(msgs))
	for i, m := range msgs {
		e, err := post.DecodeEnriched(m.Data())
		if err != nil {
			errs[i] = err
			continue
		}
		rows = append(rows, e)
		idx = append(idx, i)
	}
	if len(rows) == 0 {
		return errs
	}
	var moves []Move
	if s.Rollups != nil {
		// Before inserting: which posts come back at another created_at.
		err := s.retrying(ctx, msgs, "looking up stored posts", func() error {
			var err error
			moves, err = s.Rollups.Prepare(ctx, rows)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				for i := range idx {
					errs[idx[i]] = err
				}
				return errs
			}
			s.rollupFailed(err, 0)
		}
	}
	rowErrs := s.insertAll(ctx, rows, msgs)
	var stored []time.Time
	for j, err := range rowErrs {
		errs[idx[j]] = err
		if err == nil {
			stored = append(stored, rows[j].CreatedAt)
		}
	}
	for _, m := range moves {
		stored = append(stored, m.OldAt, m.NewAt)
	}
	if s.Rollups != nil && len(stored) > 0 {
		if err := s.rebuild(ctx, Hours(stored), msgs); err != nil {
			// Not rebuilt: JetStream redelivers, the sink inserts again
			// (iwom.posts keeps one row) and rebuilds.
			for j, e := range rowErrs {
				if e == nil {
					errs[idx[j]] = err
				}
			}
			return errs
		}
	}
	s.sweep(ctx)
	return errs
}

// rebuild rebuilds the rollups of hours, retrying while ClickHouse is
// unreachable. It returns an error only when ctx ended first; any other
// failure is logged, counted and left to the sweep (the posts are stored:
// dead-lettering them would be wrong).
func (s *Stage) rebuild(ctx context.Context, hours []time.Time, msgs []jetstream.Msg) error {
	start := time.Now()
	err := s.retrying(ctx, msgs, "rebuilding rollups", func() error { return s.Rollups.Rebuild(ctx, hours) })
	switch {
	case err == nil:
		s.RollupSeconds.Observe(time.Since(start).Seconds())
		s.RollupHours.Add(float64(len(hours)))
	case ctx.Err() != nil:
		return err
	default:
		s.rollupFailed(err, len(hours))
	}
	return nil
}

// retrying runs fn until it succeeds, fails with an error other than
// ClickHouse being unreachable, or ctx ends; meanwhile it keeps msgs in
// progress so JetStream does not redeliver them.
func (s *Stage) retrying(ctx context.Context, msgs []jetstream.Msg, what string, fn func() error) error {
	lastProgress := time.Now()
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if !IsUnavailable(err) {
			return err
		}
		if attempt == 1 || attempt%10 == 0 {
			s.Log.Warn().Err(err).Int("attempt", attempt).Msg("ClickHouse unreachable while " + what + "; retrying")
		}
		if time.Since(lastProgress) > time.Second {
			for _, m := range msgs {
				_ = m.InProgress()
			}
			lastProgress = time.Now()
		}
		backoff.Sleep(ctx, backoff.Delay(attempt, s.RetryMin, s.RetryMax))
	}
}

// rollupFailed counts a failed rollup step and logs it at most once a
// minute; the sweep rebuilds the hours later.
func (s *Stage) rollupFailed(err error, hours int) {
	s.RollupErrors.Inc()
	s.mu.Lock()
	logIt := time.Since(s.lastFailLog) > time.Minute
	if logIt {
		s.lastFailLog = time.Now()
	}
	s.mu.Unlock()
	if logIt {
		s.Log.Error().Err(err).Int("hours", hours).Msg("rollup step failed; the sweep will rebuild the hours")
	}
}

// sweep rebuilds hours changed outside the sink, at most every SweepEvery.
func (s *Stage) sweep(ctx context.Context) {
	if s.Rollups == nil || s.SweepEvery <= 0 {
		return
	}
	s.mu.Lock()
	due := time.Since(s.lastSweep) >= s.SweepEvery
	if due {
		s.lastSweep = time.Now()
	}
	s.mu.Unlock()
	if !due {
		return
	}
	start := time.Now()
	n, left, err := s.Rollups.Sweep(ctx, s.SweepHours)
	if err != nil {
		if ctx.Err() == nil {
			s.RollupErrors.Inc()
			s.Log.Warn().Err(err).Msg("rollup sweep failed")
		}
		return
	}
	if n > 0 {
		s.RollupSeconds.Observe(time.Since(start).Seconds())
		s.RollupHours.Add(float64(n))
	}
	if left > 0 {
		s.Log.Info().Int("rebuilt", n).Int("left", left).Msg("rollup sweep: catching up")
	}
}

// insertAll inserts rows, retrying transient failures until ctx ends, and
// returns one error per row.
func (s *Stage) insertAll(ctx context.Context, rows []*post.Enriched, msgs []jetstream.Msg) []error {
	out := make([]error, len(rows))
	lastProgress := time.Now()
	for attempt := 1; ; attempt++ {
		start := time.Now()
		bad, err := s.W.Insert(ctx, rows)
		if err == nil {
			now := time.Now()
			s.InsertSeconds.Observe(now.Sub(start).Seconds())
			s.Inserted.Add(float64(len(rows) - len(bad)))
			s.observeStored(rows, bad, now)
			for _, b := range bad {
				out[b.Index] = fmt.Errorf("%w: encoding row for ClickHouse: %v", post.ErrInvalid, b.Err)
			}
			if attempt > 1 {
				s.Log.Info().Int("attempts", attempt).Int("rows", len(rows)).Msg("insert succeeded after retries")
			}
			return out
		}
		if IsDataError(err) {
			return s.bisect(ctx, rows)
		}
		if ctx.Err() != nil {
			for i := range out {
				out[i] = fmt.Errorf("inserting into ClickHouse: %w", ctx.Err())
			}
			return out
		}
		s.Retries.Inc()
		if attempt == 1 || attempt%10 == 0 {
			s.Log.Warn().Err(err).Int("attempt", attempt).Int("rows", len(rows)).Msg("ClickHouse insert failed; holding the batch and retrying")
		}
		// Keep JetStream from redelivering while we wait.
		if time.Since(lastProgress) > time.Second {
			for _, m := range msgs {
				_ = m.InProgress()
			}
			lastProgress = time.Now()
		}
		backoff.Sleep(ctx, backoff.Delay(attempt, s.RetryMin, s.RetryMax))
	}
}

// observeStored records freshness for the rows stored (not those in bad).
func (s *Stage) observeStored(rows []*post.Enriched, bad []RowError, at time.Time) {
	stored := rows
	if len(bad) > 0 {
		skip := make(map[int]bool, len(bad))
		for _, b := range bad {
			skip[b.Index] = true
		}
		stored = make([]*post.Enriched, 0, len(rows)-len(bad))
		for i, r := range rows {
			if !skip[i] {
				stored = append(stored, r)
			}
		}
	}
	for _, r := range stored {
		if !r.IngestedAt.IsZero() {
			s.Freshness.Observe(at.Sub(r.IngestedAt).Seconds())
		}
	}
	if s.OnInserted != nil {
		s.OnInserted(stored, at)
	}
}

// bisect isolates the rows ClickHouse rejects: halves are inserted on their
// own until a single row fails, which is reported invalid.
func (s *Stage) bisect(ctx context.Context, rows []*post.Enriched) []error {
	out := make([]error, len(rows))
	var rec func(lo, hi int)
	rec = func(lo, hi int) {
		if lo >= hi || ctx.Err() != nil {
			return
		}
		bad, err := s.W.Insert(ctx, rows[lo:hi])
		if err == nil {
			s.Inserted.Add(float64(hi - lo - len(bad)))
			for _, b := range bad {
				out[lo+b.Index] = fmt.Errorf("%w: encoding row for ClickHouse: %v", post.ErrInvalid, b.Err)
			}
			return
		}
		if !IsDataError(err) {
			for i := lo; i < hi; i++ {
				out[i] = err // transient: retried by redelivery
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
	rec(0, len(rows))
	for i := range out {
		if out[i] == nil && ctx.Err() != nil {
			out[i] = errors.Join(errors.New("inserting into ClickHouse"), ctx.Err())
		}
	}
	return out
}
