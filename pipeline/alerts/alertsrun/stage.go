// Package alertsrun runs the alert engine of pipeline/alerts on NATS: the
// Stage runs an Engine on a JetStream consumer, publishes its alerts and
// keeps its state in a KV bucket (Store); the Router and the Service split
// brands among the replicas of `iwom alerts run`, which hold leases on the
// units they run. The engine itself imports nothing of NATS; what the
// stages publish is written to ClickHouse by an Archive
// (sinks/clickhouse.AlertArchive).
package alertsrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
)

// Input modes of a stage.
const (
	// InputEnriched: enriched posts (iwom.enriched.*); the engine moves the
	// watermark itself.
	InputEnriched = iota
	// InputRouted: the router's messages (iwom.alertsin.*): posts of the
	// partition's brands and the watermark ticks.
	InputRouted
)

// Stage runs an Engine on a JetStream consumer. For each batch it counts the
// posts, publishes the alerts (Nats-Msg-Id = id#seq, so a re-sent alert is
// dropped), saves the changed state in KV, writes the alerts to ClickHouse,
// and only then lets the runner acknowledge the batch. After a restart it
// reloads the state and skips the posts each brand already counted.
type Stage struct {
	Engine *alerts.Engine
	Bus    *bus.Bus
	Store  *Store // nil: state is not kept (unless OpenStore opens one)
	// OpenStore, when Store is nil, opens it at the first batch.
	OpenStore func(ctx context.Context) (*Store, error)
	Archive   Archive // nil: alerts are not written to ClickHouse
	Reload    *Reloader
	Input     int
	Metrics   *alerts.Metrics
	Log       zerolog.Logger
	// Valid reports whether this stage may still act (it holds its lease);
	// nil: always.
	Valid func() bool
	// OnAlert, when set, sees every alert message published.
	OnAlert func(*alerts.Alert)

	mu     sync.Mutex
	loaded bool
	outbox []*alerts.Alert
	// beforeSave, in tests, fails a batch between publishing and saving
	// (a crash there).
	beforeSave func() error
}

// Archive keeps the alert messages a stage published:
// sinks/clickhouse.AlertArchive writes them to ClickHouse. Write gets the
// messages just published and also retries those it still holds; Pending
// is how many it holds. A failed Write is logged and the batch goes on (the
// messages stay in the alerts stream, and `iwom alerts archive` copies
// them).
type Archive interface {
	Write(ctx context.Context, as []*alerts.Alert) error
	Pending() int
}

// ErrLeaseLost is returned for a batch when the stage's lease ended while it
// worked: another replica takes over the messages.
var ErrLeaseLost = errors.New("alert engine lease lost")

// failRest sets err on every message of errs that has no error yet and
// returns errs: what a batch that cannot go on answers.
func failRest(errs []error, err error) []error {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

// Process implements stage.Stage.
func (s *Stage) Process(ctx context.Context, msgs []stage.Msg) []stage.Result {
	return stage.Errs(s.process(ctx, msgs))
}

func (s *Stage) process(ctx context.Context, msgs []stage.Msg) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make([]error, len(msgs))
	fail := func(err error) []error { return failRest(errs, err) }
	if s.Valid != nil && !s.Valid() {
		return fail(ErrLeaseLost)
	}
	if !s.loaded {
		if err := s.load(ctx); err != nil {
			return fail(err)
		}
	}
	if s.Reload != nil {
		if out, changed := s.Reload.Check(s.Engine, s.Log, s.Metrics); changed {
			s.outbox = append(s.outbox, out...)
		}
	}
	var last uint64
	for i, m := range msgs {
		seq := m.Seq
		out, err := s.apply(m.Data, seq)
		if err != nil {
			errs[i] = err
			continue
		}
		if seq > last {
			last = seq
		}
		s.outbox = append(s.outbox, out...)
	}
	sent, err := s.flush(ctx)
	if err != nil {
		// The engine has counted the batch: the posts come back and are
		// skipped, and the alerts still in the outbox are sent then.
		return fail(err)
	}
	if s.Valid != nil && !s.Valid() {
		return fail(ErrLeaseLost)
	}
	if s.beforeSave != nil {
		if err := s.beforeSave(); err != nil {
			return fail(err)
		}
	}
	if s.Store != nil {
		if err := s.Store.Save(ctx, s.Engine, last); err != nil {
			if errors.Is(err, ErrFenced) {
				s.Log.Error().Err(err).Msg("another engine wrote this state: reloading it")
				s.loaded = false
			}
			return fail(err)
		}
		if s.Metrics != nil {
			s.Metrics.StateBytes.Set(float64(s.Store.Bytes))
		}
	}
	if s.Archive != nil && len(sent) > 0 || s.Archive != nil && s.Archive.Pending() > 0 {
		if err := s.Archive.Write(ctx, sent); err != nil {
			s.Log.Warn().Err(err).Int("pending", s.Archive.Pending()).Msg("writing alerts to ClickHouse; will retry with the next ones")
		}
	}
	s.observe()
	return errs
}

func (s *Stage) observe() {
	if s.Metrics == nil {
		return
	}
	scope := "local"
	if s.Store != nil {
		scope = s.Store.Scope()
	}
	if wm := s.Engine.Watermark(); !wm.IsZero() {
		s.Metrics.Watermark.WithLabelValues(scope).Set(float64(wm.Unix()))
	}
	s.Metrics.Open.WithLabelValues(scope).Set(float64(s.Engine.OpenAlerts()))
}

func (s *Stage) load(ctx context.Context) error {
	if s.Store == nil && s.OpenStore != nil {
		st, err := s.OpenStore(ctx)
		if err != nil {
			return err
		}
		s.Store = st
	}
	if s.Store == nil {
		s.loaded = true
		return nil
	}
	fresh, err := alerts.NewEngine(s.Engine.Rules(), s.Engine.Options())
	if err != nil {
		return err
	}
	if _, err := s.Store.Load(ctx, fresh); err != nil {
		return err
	}
	*s.Engine = *fresh
	s.loaded = true
	return nil
}

// apply decodes one message and runs it through the engine.
func (s *Stage) apply(data []byte, seq uint64) ([]*alerts.Alert, error) {
	if s.Input == InputRouted {
		var r Routed
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%w: decoding routed alert input: %v", post.ErrInvalid, err)
		}
		if r.In == nil {
			return s.Engine.AdvanceTo(r.Tick), nil
		}
		return s.Engine.Apply(r.In, seq), nil
	}
	p, err := post.DecodeEnriched(data)
	if err != nil {
		return nil, err
	}
	return s.Engine.Observe(alerts.FromEnriched(p), seq), nil
}

// flush publishes the outbox, in order, and returns what it published.
func (s *Stage) flush(ctx context.Context) ([]*alerts.Alert, error) {
	if len(s.outbox) == 0 {
		return nil, nil
	}
	outs := make([]bus.Out, len(s.outbox))
	for i, a := range s.outbox {
		data, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encoding alert %s: %w", a.MsgID(), err)
		}
		h := nats.Header{}
		h.Set(alerts.HdrSeverity, strconv.Itoa(a.Severity))
		h.Set(alerts.HdrState, a.State)
		outs[i] = bus.Out{Subject: a.Subject(), Data: data, MsgID: a.MsgID(), Header: h}
	}
	res := s.Bus.PublishAll(ctx, outs)
	var sent []*alerts.Alert
	var keep []*alerts.Alert
	var first error
	for i, r := range res {
		a := s.outbox[i]
		if r.Err != nil {
			keep = append(keep, a)
			if first == nil {
				first = fmt.Errorf("publishing alert %s: %w", a.MsgID(), r.Err)
			}
			continue
		}
		sent = append(sent, a)
		if s.Metrics != nil {
			if r.Ack != nil && r.Ack.Duplicate {
				s.Metrics.Duplicates.Inc()
			} else {
				s.Metrics.Messages.WithLabelValues(a.Rule, a.State).Inc()
			}
		}
		if s.OnAlert != nil {
			s.OnAlert(a)
		}
		if a.State == alerts.StateFiring || a.State == alerts.StateDigest {
			s.Log.Info().Str("alert", a.ID).Str("state", a.State).Int("severity", a.Severity).Float64("observed", a.Observed).Float64("baseline", a.Baseline).Msg("alert")
		}
	}
	s.outbox = keep
	return sent, first
}

// Reloader re-reads a rules file when it changes (checked at most every
// Interval) and applies it to the engine; an invalid file is logged and
// ignored.
type Reloader struct {
	Path     string
	Interval time.Duration

	last    time.Time
	modTime time.Time
	hash    string
}

// NewReloader watches path (nothing to watch when path is "").
func NewReloader(path string, every time.Duration, current *alerts.Rules) *Reloader {
	r := &Reloader{Path: path, Interval: every, last: time.Now()}
	if current != nil {
		r.hash = current.Hash
	}
	if fi, err := os.Stat(path); err == nil {
		r.modTime = fi.ModTime()
	}
	return r
}

// Check reloads the rules if the file changed; it returns the messages of
// alerts that ended because their rule went away, and whether the rules
// changed.
func (r *Reloader) Check(e *alerts.Engine, log zerolog.Logger, m *alerts.Metrics) ([]*alerts.Alert, bool) {
	if r == nil || r.Path == "" || r.Interval <= 0 || time.Since(r.last) < r.Interval {
		return nil, false
	}
	r.last = time.Now()
	fi, err := os.Stat(r.Path)
	if err != nil {
		log.Error().Err(err).Str("file", r.Path).Msg("checking the alert rules file; keeping the current rules")
		return nil, false
	}
	if fi.ModTime().Equal(r.modTime) {
		return nil, false
	}
	r.modTime = fi.ModTime()
	rs, err := alerts.LoadRules(r.Path)
	if err == nil && rs.Hash == r.hash {
		return nil, false
	}
	if err == nil {
		var out []*alerts.Alert
		if out, err = e.SetRules(rs); err == nil {
			r.hash = rs.Hash
			log.Info().Str("file", r.Path).Int("rules", len(rs.Enabled())).Msg("alert rules reloaded")
			if m != nil {
				m.Reloads.WithLabelValues("ok").Inc()
			}
			return out, true
		}
	}
	log.Error().Err(err).Str("file", r.Path).Msg("invalid alert rules file; keeping the current rules")
	if m != nil {
		m.Reloads.WithLabelValues("invalid").Inc()
	}
	return nil, false
}
