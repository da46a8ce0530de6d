// Package app assembles iwom's stages from the configuration: the bus, the
// enrich, sink and alert runners and connector publishers. `iwom run` uses
// all of them in one process; `iwom enrich`, `iwom sink clickhouse` and
// `iwom alerts run` use one each.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/alerts/alertsrun"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/connectors"
	enrichstage "github.com/iwom/iwom/pipeline/enrich"
	"github.com/iwom/iwom/pipeline/metrics"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/state"
)

// Durable consumer names, one per stage.
const (
	DurableEnrich = "enrich"
	DurableSink   = "sink-clickhouse"
	DurableAlerts = "alerts"
)

// App is the shared plumbing of one iwom process.
type App struct {
	Cfg     *config.Config
	Log     zerolog.Logger
	Reg     *prometheus.Registry
	Metrics *metrics.Stage
	Bus     *bus.Bus
	// Enricher, when set, is used by EnrichRunner instead of building one
	// from the configured watch-list (tests share one across restarts).
	Enricher *enrich.Enricher

	mu        sync.Mutex
	checks    map[string]func() error
	ch        driver.Conn
	sinkStats *chsink.Metrics
	runners   []*stage.Runner
	closers   []func() error
	sink      *chsink.Stage
}

// Open connects to NATS (or starts the embedded server) and ensures the
// streams: for the processes that own the broker (iwom run).
func Open(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*App, error) {
	b, err := bus.Open(ctx, cfg.NATS, cfg.DataDir, log.With().Str("component", "nats").Logger())
	if err != nil {
		return nil, err
	}
	return newApp(cfg, log, b), nil
}

// Connect connects to NATS (nats.url, or the embedded server of a running
// iwom) without ever starting a server: for every other command.
func Connect(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*App, error) {
	b, err := bus.Connect(ctx, cfg.NATS, log.With().Str("component", "nats").Logger())
	if err != nil {
		return nil, err
	}
	return newApp(cfg, log, b), nil
}

func newApp(cfg *config.Config, log zerolog.Logger, b *bus.Bus) *App {
	reg := metrics.NewRegistry()
	reg.MustRegister(bus.NewCollector(b))
	return &App{Cfg: cfg, Log: log, Reg: reg, Metrics: metrics.NewStage(reg), Bus: b}
}

// Close closes ClickHouse and NATS (draining) and stops the embedded server.
func (a *App) Close() {
	a.mu.Lock()
	for _, c := range a.closers {
		if err := c(); err != nil {
			a.Log.Warn().Err(err).Msg("closing")
		}
	}
	a.closers = nil
	if a.ch != nil {
		_ = a.ch.Close()
	}
	a.mu.Unlock()
	a.Bus.Close()
}

// Limits of a post, from the config.
func (a *App) Limits() post.Limits {
	return post.Limits{MaxTextBytes: a.Cfg.Limits.MaxTextBytes, MaxFutureSkew: a.Cfg.Limits.MaxFutureSkew}
}

// WatchList loads the configured brand watch-list (embedded by default).
func (a *App) WatchList() (*brands.WatchList, error) {
	return brands.Load(a.Cfg.Enrich.BrandsFile)
}

// ClickHouse returns the (lazily opened) ClickHouse connection.
func (a *App) ClickHouse() (driver.Conn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ch == nil {
		c, err := chsink.Open(a.Cfg.ClickHouse)
		if err != nil {
			return nil, err
		}
		a.ch = c
	}
	return a.ch, nil
}

func (a *App) runner(name, stream, subject string, st stage.Stage, batch int, wait time.Duration) *stage.Runner {
	r := &stage.Runner{
		Name: name, Stream: stream, Subject: subject, Stage: st,
		Batch: batch, Wait: wait, Bus: a.Bus, Metrics: a.Metrics, Grace: a.Cfg.ShutdownGrace,
		Log:        a.Log.With().Str("stage", name).Logger(),
		StatsEvery: a.Cfg.Log.StatsInterval,
	}
	a.mu.Lock()
	a.runners = append(a.runners, r)
	a.mu.Unlock()
	return r
}

// EnrichRunner builds the enrich stage.
func (a *App) EnrichRunner() (*stage.Runner, error) {
	e := a.Enricher
	if e == nil {
		wl, err := a.WatchList()
		if err != nil {
			return nil, err
		}
		if e, err = enrich.New(wl); err != nil {
			return nil, fmt.Errorf("building enricher: %w", err)
		}
	}
	_, maxBytes := bus.MaxMsgSizes(a.Cfg.NATS)
	st := &enrichstage.Stage{E: e, Limits: a.Limits(), MaxBytes: maxBytes, Workers: a.Cfg.Enrich.Workers}
	n := a.Cfg.NATS
	return a.runner(DurableEnrich, bus.StreamRaw, bus.RawPrefix+">", st, n.FetchBatch, n.FetchWait), nil
}

// SinkRunner builds the ClickHouse sink stage. Its pulls are sized by
// clickhouse.batch_size and clickhouse.flush_interval, so each pull is one
// insert.
func (a *App) SinkRunner() (*stage.Runner, error) {
	conn, err := a.ClickHouse()
	if err != nil {
		return nil, err
	}
	c := a.Cfg.ClickHouse
	a.mu.Lock()
	if a.sinkStats == nil {
		a.sinkStats = chsink.NewMetrics(a.Reg)
	}
	m := a.sinkStats
	a.mu.Unlock()
	name := SinkDurable(a.Cfg)
	st, err := a.sinkStage(conn, m)
	if err != nil {
		return nil, err
	}
	r := a.runner(name, bus.StreamEnriched, bus.EnrichedPrefix+">", st, c.BatchSize, c.FlushInterval)
	r.MaxAckPending = 2 * c.BatchSize
	r.HoldMin, r.HoldMax = c.RetryMin, c.RetryMax
	return r, nil
}

// sinkStage returns the process's sink stage, built on first use: one
// state store and one writer per process, shared by every runner of the
// sink (a stage restarted in the same process goes on with it).
func (a *App) sinkStage(conn driver.Conn, m *chsink.Metrics) (*chsink.Stage, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sink != nil {
		return a.sink, nil
	}
	c := a.Cfg.ClickHouse
	dir := c.StateDir
	if dir == "" {
		dir = filepath.Join(a.Cfg.DataDir, "sink-state")
	}
	if c.Partitions > 1 {
		dir = filepath.Join(dir, strconv.Itoa(c.Partition))
	}
	name := SinkDurable(a.Cfg)
	store, err := state.Open(dir, 32<<20)
	if err != nil {
		return nil, fmt.Errorf("opening the state of sink %s (one sink per partition): %w", name, err)
	}
	a.closers = append(a.closers, store.Close)
	log := a.Log.With().Str("stage", name).Logger()
	l := chsink.NewLedger(conn, c.Database, store, c.Partition, c.Partitions, log)
	a.sink = chsink.NewStage(chsink.NewWriter(conn, c.Database), l, m, log)
	return a.sink, nil
}

// SinkDurable is the durable consumer of the configured sink partition.
func SinkDurable(cfg *config.Config) string {
	if cfg.ClickHouse.Partitions > 1 {
		return DurableSink + "-" + strconv.Itoa(cfg.ClickHouse.Partition)
	}
	return DurableSink
}

// AlertsRunner builds the alert engine stage: one engine for every brand
// on the enriched stream, its state in KV (alerts.state_bucket), alerts
// also written to ClickHouse when alerts.clickhouse is on. (`iwom alerts
// run` can split brands among replicas instead: alertsrun.Service.)
func (a *App) AlertsRunner() *stage.Runner {
	log := a.Log.With().Str("stage", DurableAlerts).Logger()
	m := alerts.NewMetrics(a.Reg)
	// An interface: a nil *chsink.AlertArchive in it would not be nil.
	var archive alertsrun.Archive
	if a.Cfg.Alerts.ClickHouse {
		if conn, err := a.ClickHouse(); err != nil {
			log.Error().Err(err).Msg("opening ClickHouse for alerts; they are only published on NATS")
		} else {
			archive = chsink.NewAlertArchive(conn, a.Cfg.ClickHouse.Database, m)
		}
	}
	st := alertsrun.NewSingleStage(a.Bus, a.Cfg.Alerts, archive, m, log)
	n := a.Cfg.NATS
	r := a.runner(DurableAlerts, bus.StreamEnriched, bus.EnrichedPrefix+">", st, n.FetchBatch, n.FetchWait)
	// One pull loop: the engine reads posts in stream order.
	r.Parallel = 1
	return r
}

// Publisher builds a connector publisher.
func (a *App) Publisher(name string) *connectors.JetStreamPublisher {
	return &connectors.JetStreamPublisher{Bus: a.Bus, Source: name, Limits: a.Limits(), Log: a.Log.With().Str("connector", name).Logger(), Counter: a.Metrics.Published}
}

// Ready reports nil when NATS is connected and every runner is bound.
func (a *App) Ready(ctx context.Context) error {
	if !a.Bus.Connected() {
		return errors.New("NATS not connected")
	}
	a.mu.Lock()
	rs := append([]*stage.Runner(nil), a.runners...)
	ch := a.ch
	a.mu.Unlock()
	for _, r := range rs {
		if !r.Bound() {
			return fmt.Errorf("stage %s not consuming yet", r.Name)
		}
	}
	a.mu.Lock()
	checks := make(map[string]func() error, len(a.checks))
	for k, v := range a.checks {
		checks[k] = v
	}
	a.mu.Unlock()
	for name, check := range checks {
		if err := check(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if ch != nil {
		if err := ch.Ping(ctx); err != nil {
			return fmt.Errorf("ClickHouse: %w", err)
		}
	}
	return nil
}

// AddReadiness adds a check to /readyz (e.g. a connector's Ready).
func (a *App) AddReadiness(name string, check func() error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.checks == nil {
		a.checks = map[string]func() error{}
	}
	a.checks[name] = check
}

// ServeMetrics serves /metrics, /healthz and /readyz when metrics.listen is
// set, until ctx ends. It fails at once when the address cannot be bound.
func (a *App) ServeMetrics(ctx context.Context) error {
	if a.Cfg.Metrics.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.Cfg.Metrics.Listen)
	if err != nil {
		return fmt.Errorf("metrics.listen: %w", err)
	}
	go func() {
		if err := metrics.ServeOn(ctx, ln, a.Reg, a.Ready); err != nil {
			a.Log.Error().Err(err).Str("listen", a.Cfg.Metrics.Listen).Msg("metrics endpoint failed")
		}
	}()
	return nil
}

// ConsumerState is a consumer's backlog.
type ConsumerState struct {
	Stream, Durable                  string
	Pending, AckPending, Redelivered uint64
	Exists                           bool
}

// Idle reports whether nothing is waiting or in flight.
func (c ConsumerState) Idle() bool { return c.Pending == 0 && c.AckPending == 0 && c.Redelivered == 0 }

// Consumers reads the state of the named stage consumers.
func (a *App) Consumers(ctx context.Context, names ...string) ([]ConsumerState, error) {
	streams := map[string]string{DurableEnrich: bus.StreamRaw, DurableSink: bus.StreamEnriched, DurableAlerts: bus.StreamEnriched}
	var out []ConsumerState
	for _, n := range names {
		cs := ConsumerState{Stream: streams[n], Durable: n}
		info, err := a.Bus.ConsumerInfo(ctx, cs.Stream, n)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound):
		case err != nil:
			return nil, err
		default:
			cs.Exists = true
			cs.Pending, cs.AckPending, cs.Redelivered = info.NumPending, uint64(info.NumAckPending), uint64(info.NumRedelivered)
		}
		out = append(out, cs)
	}
	return out, nil
}

// WaitIdle returns once every named consumer exists and has been idle on
// two polls in a row (so a message moving between stages is not missed).
func (a *App) WaitIdle(ctx context.Context, poll time.Duration, names ...string) error {
	streak := 0
	for {
		states, err := a.Consumers(ctx, names...)
		if err != nil && ctx.Err() == nil {
			a.Log.Warn().Err(err).Msg("reading consumer state")
		}
		idle := err == nil
		for _, s := range states {
			if !s.Exists || !s.Idle() {
				idle = false
			}
		}
		if idle {
			streak++
			if streak >= 2 {
				return nil
			}
		} else {
			streak = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
