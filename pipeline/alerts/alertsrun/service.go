package alertsrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/metrics"
	"github.com/iwom/iwom/pipeline/stage"
)

// Durable consumer names of the alert engine.
const (
	// DurableSingle is the single engine's consumer on the enriched stream
	// (`iwom run`, and `iwom alerts run` with alerts.partitions 0).
	DurableSingle = "alerts"
)

// DurableRouter is the router's consumer on the enriched stream.
func DurableRouter(n int) string { return "alerts-router-n" + strconv.Itoa(n) }

// DurablePartition is partition k's consumer on the internal stream.
func DurablePartition(n, k int) string { return "alerts-n" + strconv.Itoa(n) + "-p" + strconv.Itoa(k) }

// ScopeSingle is the KV scope of the single engine.
const ScopeSingle = "all"

// ScopePartition is the KV scope of partition k of n.
func ScopePartition(n, k int) string { return "n" + strconv.Itoa(n) + "p" + strconv.Itoa(k) }

// Parts are the common pieces of an engine's stages.
type Parts struct {
	Bus     *bus.Bus
	Cfg     config.Alerts
	Rules   *alerts.Rules
	Options alerts.Options
	Archive Archive
	Metrics *alerts.Metrics
	Log     zerolog.Logger
}

// LoadParts reads the rules (alerts.rules_file, or the embedded default)
// and derives the engine options from the configuration.
func LoadParts(b *bus.Bus, cfg config.Alerts, m *alerts.Metrics, log zerolog.Logger) (*Parts, error) {
	rs, err := alerts.LoadRules(cfg.RulesFile)
	if err != nil {
		return nil, err
	}
	opts := alerts.Options{Slot: cfg.Slot, Lateness: cfg.AllowedLateness}
	if _, err := alerts.NewEngine(rs, opts); err != nil {
		return nil, err
	}
	return &Parts{Bus: b, Cfg: cfg, Rules: rs, Options: opts, Metrics: m, Log: log}, nil
}

// NewSingleStage builds the stage of one engine for every brand, on the
// enriched stream (`iwom run`). Its KV store opens at the first batch. When
// the rules file cannot be loaded it logs why and starts with the embedded
// rules, and keeps watching the file (hot reload) until it is fixed.
func NewSingleStage(b *bus.Bus, cfg config.Alerts, archive Archive, m *alerts.Metrics, log zerolog.Logger) *Stage {
	p, err := LoadParts(b, cfg, m, log)
	if err != nil {
		log.Error().Err(err).Str("file", cfg.RulesFile).Msg("loading the alert rules; using the embedded rules until the file is fixed")
		def := cfg
		def.RulesFile = ""
		if p, err = LoadParts(b, def, m, log); err != nil {
			// The embedded rules are tested; only a bad alerts.slot gets here.
			log.Error().Err(err).Msg("loading the embedded alert rules")
			p = &Parts{Bus: b, Rules: &alerts.Rules{Version: alerts.RulesVersion}, Options: alerts.Options{Slot: time.Minute}, Metrics: m, Log: log}
		}
		p.Cfg = cfg
	}
	p.Archive = archive
	eng, err := alerts.NewEngine(p.Rules, p.Options)
	if err != nil {
		eng, _ = alerts.NewEngine(&alerts.Rules{Version: alerts.RulesVersion}, alerts.Options{})
	}
	return &Stage{Engine: eng, Bus: b, Archive: archive, Input: InputEnriched, Metrics: m,
		Reload: NewReloader(cfg.RulesFile, cfg.ReloadInterval, p.Rules), Log: log,
		OpenStore: func(ctx context.Context) (*Store, error) {
			return OpenStore(ctx, b, cfg.StateBucket, ScopeSingle)
		}}
}

// Stage builds an engine stage for scope, with its KV store.
func (p *Parts) Stage(ctx context.Context, input int, scope string, valid func() bool) (*Stage, error) {
	eng, err := alerts.NewEngine(p.Rules, p.Options)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, p.Bus, p.Cfg.StateBucket, scope)
	if err != nil {
		return nil, err
	}
	return &Stage{Engine: eng, Bus: p.Bus, Store: st, Archive: p.Archive, Input: input, Metrics: p.Metrics, Valid: valid,
		Reload: NewReloader(p.Cfg.RulesFile, p.Cfg.ReloadInterval, p.Rules),
		Log:    p.Log.With().Str("scope", scope).Logger()}, nil
}

// Router builds the partition router.
func (p *Parts) Router(ctx context.Context, valid func() bool) (*Router, error) {
	st, err := OpenStore(ctx, p.Bus, p.Cfg.StateBucket, "n"+strconv.Itoa(p.Cfg.Partitions))
	if err != nil {
		return nil, err
	}
	return &Router{Bus: p.Bus, Partitions: p.Cfg.Partitions, Options: p.Options, Store: st, Metrics: p.Metrics, Valid: valid,
		Log: p.Log.With().Str("scope", "router").Logger()}, nil
}

// Service is one `iwom alerts run` replica. Replicas share the work through
// leases in a KV bucket (alerts.lease_bucket, entries expire after
// alerts.lease_ttl unless renewed): with alerts.partitions 0 there is one
// unit, the single engine, and the other replicas wait to take it over;
// with N partitions the units are the router and the N partition engines,
// and each replica takes its share (ceil(units / replicas)). A replica runs
// a unit's consumer only while it holds the unit's lease, and a unit's
// state lives in KV, so a unit moves between replicas without losing or
// double-counting posts.
type Service struct {
	Parts      *Parts
	ID         string
	Stage      *metrics.Stage
	StatsEvery time.Duration
	// Rebalance is how often leases are renewed and shared out (default
	// lease_ttl / 3).
	Rebalance time.Duration

	kv      jetstream.KeyValue
	mu      sync.Mutex
	workers map[string]*worker
}

type worker struct {
	key      string
	rev      uint64
	deadline atomic.Int64 // unix nanoseconds after which the lease may be gone
	cancel   context.CancelFunc
	done     chan struct{}
}

func (w *worker) valid() bool { return time.Now().UnixNano() < w.deadline.Load() }

// NewReplicaID names a replica: host, process and a random suffix.
func NewReplicaID() string {
	h, _ := os.Hostname()
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, h)
	return fmt.Sprintf("%s-%d-%d", h, os.Getpid(), time.Now().UnixNano()%1_000_000)
}

// Units lists the leased units for n partitions.
func Units(n int) []string {
	if n == 0 {
		return []string{ScopeSingle}
	}
	out := []string{"router"}
	for k := 0; k < n; k++ {
		out = append(out, "p"+strconv.Itoa(k))
	}
	return out
}

func (s *Service) leaseKey(unit string) string {
	return "lease.n" + strconv.Itoa(s.Parts.Cfg.Partitions) + "." + unit
}

// Run holds leases and runs their units until ctx ends, then stops the
// units and gives the leases back.
func (s *Service) Run(ctx context.Context) error {
	p := s.Parts
	ttl := p.Cfg.LeaseTTL
	if s.Rebalance <= 0 {
		s.Rebalance = ttl / 3
	}
	if s.ID == "" {
		s.ID = NewReplicaID()
	}
	kv, err := p.Bus.AlertLeases(ctx, p.Cfg.LeaseBucket, ttl)
	if err != nil {
		return err
	}
	s.kv = kv
	if p.Cfg.Partitions > 0 {
		if err := p.Bus.EnsureAlertsIn(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.workers = map[string]*worker{}
	s.mu.Unlock()
	p.Log.Info().Str("replica", s.ID).Int("partitions", p.Cfg.Partitions).Msg("alert engine replica started")
	t := time.NewTicker(s.Rebalance)
	defer t.Stop()
	for {
		if err := s.round(ctx); err != nil && ctx.Err() == nil {
			p.Log.Warn().Err(err).Msg("renewing alert engine leases; retrying")
		}
		select {
		case <-ctx.Done():
			s.shutdown()
			return nil
		case <-t.C:
		}
	}
}

// round renews the member heartbeat and the leases held, and takes or
// gives back leases towards an even share.
func (s *Service) round(ctx context.Context) error {
	ttl := s.Parts.Cfg.LeaseTTL
	if _, err := s.kv.PutString(ctx, "member."+s.ID, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("writing the replica heartbeat: %w", err)
	}
	// Renew.
	for unit, w := range s.held() {
		start := time.Now()
		rev, err := s.kv.Update(ctx, w.key, []byte(s.ID), w.rev)
		if err != nil {
			s.Parts.Log.Warn().Err(err).Str("unit", unit).Msg("lost an alert engine lease; stopping its unit")
			s.stop(unit, false)
			continue
		}
		w.rev = rev
		w.deadline.Store(start.Add(ttl - ttl/5).UnixNano())
	}
	members, err := s.members(ctx)
	if err != nil {
		return err
	}
	units := Units(s.Parts.Cfg.Partitions)
	me := sort.SearchStrings(members, s.ID)
	want := (len(units) + len(members) - 1) / len(members)
	// This replica's preferred units start at its share of the ring.
	off := me * len(units) / len(members)
	pref := make([]string, len(units))
	for i := range units {
		pref[i] = units[(off+i)%len(units)]
	}
	held := s.held()
	if len(held) > want {
		// Give back the least preferred ones.
		for i := len(pref) - 1; i >= 0 && len(held) > want; i-- {
			if _, ok := held[pref[i]]; ok {
				s.stop(pref[i], true)
				delete(held, pref[i])
			}
		}
	}
	for _, unit := range pref {
		if len(held) >= want {
			break
		}
		if _, ok := held[unit]; ok {
			continue
		}
		start := time.Now()
		rev, err := s.kv.Create(ctx, s.leaseKey(unit), []byte(s.ID))
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue
			}
			return fmt.Errorf("taking the lease of %s: %w", unit, err)
		}
		w := &worker{key: s.leaseKey(unit), rev: rev}
		w.deadline.Store(start.Add(ttl - ttl/5).UnixNano())
		if err := s.start(ctx, unit, w); err != nil {
			_ = s.kv.Delete(ctx, w.key, jetstream.LastRevision(rev))
			return err
		}
		held[unit] = w
	}
	if s.Parts.Metrics != nil {
		s.Parts.Metrics.Leases.Set(float64(len(s.held())))
	}
	return nil
}

func (s *Service) members(ctx context.Context) ([]string, error) {
	l, err := s.kv.ListKeysFiltered(ctx, "member.*")
	if err != nil {
		return nil, fmt.Errorf("listing alert engine replicas: %w", err)
	}
	var out []string
	for k := range l.Keys() {
		out = append(out, strings.TrimPrefix(k, "member."))
	}
	if !slices.Contains(out, s.ID) {
		out = append(out, s.ID)
	}
	sort.Strings(out)
	return out, nil
}

func (s *Service) held() map[string]*worker {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*worker, len(s.workers))
	for u, w := range s.workers {
		out[u] = w
	}
	return out
}

// Held lists the units this replica runs, sorted.
func (s *Service) Held() []string {
	var out []string
	for u := range s.held() {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// start runs a unit's consumer in a goroutine.
func (s *Service) start(ctx context.Context, unit string, w *worker) error {
	p := s.Parts
	n := p.NATSConfig()
	var r *stage.Runner
	switch {
	case unit == ScopeSingle:
		st, err := p.Stage(ctx, InputEnriched, ScopeSingle, w.valid)
		if err != nil {
			return err
		}
		r = s.runner(DurableSingle, bus.StreamEnriched, bus.EnrichedPrefix+">", st, n)
	case unit == "router":
		rt, err := p.Router(ctx, w.valid)
		if err != nil {
			return err
		}
		r = s.runner(DurableRouter(p.Cfg.Partitions), bus.StreamEnriched, bus.EnrichedPrefix+">", rt, n)
	default:
		k, err := strconv.Atoi(strings.TrimPrefix(unit, "p"))
		if err != nil {
			return fmt.Errorf("unknown alert engine unit %q", unit)
		}
		st, err := p.Stage(ctx, InputRouted, ScopePartition(p.Cfg.Partitions, k), w.valid)
		if err != nil {
			return err
		}
		r = s.runner(DurablePartition(p.Cfg.Partitions, k), StreamAlertsIn, AlertsInSubject(p.Cfg.Partitions, k), st, n)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel, w.done = cancel, make(chan struct{})
	s.mu.Lock()
	s.workers[unit] = w
	s.mu.Unlock()
	p.Log.Info().Str("replica", s.ID).Str("unit", unit).Msg("alert engine unit started")
	go func() {
		defer close(w.done)
		if err := r.Run(wctx); err != nil {
			p.Log.Error().Err(err).Str("unit", unit).Msg("alert engine unit stopped")
		}
	}()
	return nil
}

// runner consumes in stream order (one pull loop): a partition engine must
// see its posts in the router's order to give exactly a single engine's
// alerts.
func (s *Service) runner(name, stream, subject string, st stage.Stage, n config.NATS) *stage.Runner {
	return &stage.Runner{Name: name, Stream: stream, Subject: subject, Stage: st, Batch: n.FetchBatch, Wait: n.FetchWait,
		Parallel: 1, Grace: s.Parts.Cfg.LeaseTTL / 2, Bus: s.Parts.Bus, Metrics: s.Stage, StatsEvery: s.StatsEvery,
		Log: s.Parts.Log.With().Str("stage", name).Logger()}
}

// NATSConfig is the bus's NATS configuration.
func (p *Parts) NATSConfig() config.NATS { return p.Bus.Config() }

// stop ends a unit (waiting for its batch in hand) and, with release, gives
// its lease back.
func (s *Service) stop(unit string, release bool) {
	s.mu.Lock()
	w := s.workers[unit]
	delete(s.workers, unit)
	s.mu.Unlock()
	if w == nil {
		return
	}
	w.cancel()
	<-w.done
	if release {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.kv.Delete(ctx, w.key, jetstream.LastRevision(w.rev)); err != nil {
			s.Parts.Log.Warn().Err(err).Str("unit", unit).Msg("giving back an alert engine lease")
		}
	}
	s.Parts.Log.Info().Str("replica", s.ID).Str("unit", unit).Msg("alert engine unit stopped")
}

func (s *Service) shutdown() {
	for unit := range s.held() {
		s.stop(unit, true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.kv.Delete(ctx, "member."+s.ID)
}
