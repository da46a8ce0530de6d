// Package alerts watches enriched posts and publishes alerts on
// iwom.alerts.<brand>.<kind>. The rule here is the per-brand negative-volume
// spike: negative posts about a brand in an event-time window (by
// created_at) against the mean of the previous windows.
package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
)

// SchemaVersion of the Alert JSON.
const SchemaVersion = 1

// KindNegativeSpike is the rule kind (the last subject token).
const KindNegativeSpike = "negative_spike"

// Alert is what subscribers receive.
type Alert struct {
	Version     int       `json:"v"`
	ID          string    `json:"id"` // <brand>:<rule>:<window start unix>; the Nats-Msg-Id
	Rule        string    `json:"rule"`
	Brand       string    `json:"brand"`
	State       string    `json:"state"` // firing
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Observed    int       `json:"observed"` // negative posts in the window
	Total       int       `json:"total"`    // all posts about the brand in the window
	Baseline    float64   `json:"baseline"` // mean negative posts in the previous windows
	Ratio       float64   `json:"ratio"`    // observed / max(baseline, 1)
	SampleIDs   []string  `json:"sample_post_ids"`
	SampleTexts []string  `json:"sample_texts,omitempty"`
	FiredAt     time.Time `json:"fired_at"`
}

// Subject is where the alert is published.
func (a *Alert) Subject() string { return bus.AlertSubject(a.Brand, a.Rule) }

type window struct {
	neg, total int
	samples    []sample
}

type sample struct{ id, text string }

type brandState struct {
	windows   map[int64]*window // window start (unix s) -> counts
	lastFired int64             // window start of the last alert, or min
	maxSeen   int64
}

// Engine evaluates the negative-spike rule. It is safe for concurrent use.
type Engine struct {
	rule  config.SpikeRule
	mu    sync.Mutex
	state map[string]*brandState
}

// NewEngine builds an engine for rule.
func NewEngine(rule config.SpikeRule) *Engine {
	return &Engine{rule: rule, state: map[string]*brandState{}}
}

// Observe adds a post and returns the alerts it triggers.
func (e *Engine) Observe(p *post.Enriched, now time.Time) []*Alert {
	if !e.rule.Enabled || len(p.Brands) == 0 {
		return nil
	}
	w := int64(e.rule.Window / time.Second)
	start := p.CreatedAt.Unix() / w * w
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*Alert
	for _, b := range p.Brands {
		st := e.state[b]
		if st == nil {
			st = &brandState{windows: map[int64]*window{}, lastFired: -1 << 62}
			e.state[b] = st
		}
		win := st.windows[start]
		if win == nil {
			win = &window{}
			st.windows[start] = win
		}
		win.total++
		if p.Sentiment.Label != post.Negative {
			continue
		}
		win.neg++
		if len(win.samples) < e.rule.Samples {
			win.samples = append(win.samples, sample{p.Key(), p.Text})
		}
		if start > st.maxSeen {
			st.maxSeen = start
			e.prune(st, w)
		}
		if a := e.check(b, st, start, w, now); a != nil {
			out = append(out, a)
		}
	}
	return out
}

func (e *Engine) check(brand string, st *brandState, start, w int64, now time.Time) *Alert {
	win := st.windows[start]
	if win.neg < e.rule.MinCount {
		return nil
	}
	if start-st.lastFired < int64(e.rule.Cooldown/time.Second) || start == st.lastFired {
		return nil
	}
	sum := 0
	for i := 1; i <= e.rule.BaselineWindows; i++ {
		if prev := st.windows[start-int64(i)*w]; prev != nil {
			sum += prev.neg
		}
	}
	baseline := float64(sum) / float64(e.rule.BaselineWindows)
	floor := baseline
	if floor < 1 {
		floor = 1
	}
	ratio := float64(win.neg) / floor
	if ratio < e.rule.Ratio {
		return nil
	}
	st.lastFired = start
	a := &Alert{
		Version: SchemaVersion, Rule: KindNegativeSpike, Brand: brand, State: "firing",
		WindowStart: time.Unix(start, 0).UTC(), WindowEnd: time.Unix(start+w, 0).UTC(),
		Observed: win.neg, Total: win.total, Baseline: baseline, Ratio: ratio, FiredAt: now.UTC(),
	}
	a.ID = fmt.Sprintf("%s:%s:%d", brand, a.Rule, start)
	for _, s := range win.samples {
		a.SampleIDs = append(a.SampleIDs, s.id)
		a.SampleTexts = append(a.SampleTexts, s.text)
	}
	return a
}

// prune drops windows too old to be a baseline.
func (e *Engine) prune(st *brandState, w int64) {
	keep := st.maxSeen - int64(e.rule.BaselineWindows+2)*w
	for k := range st.windows {
		if k < keep {
			delete(st.windows, k)
		}
	}
}

// Stage runs the engine on the enriched stream and publishes alerts
// (deduplicated by their id) before acknowledging the posts that caused
// them.
type Stage struct {
	Engine *Engine
	Bus    *bus.Bus
	Log    zerolog.Logger
}

// Process implements stage.Stage.
func (s *Stage) Process(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	var fired []*Alert
	now := time.Now()
	for i, m := range msgs {
		p, err := post.DecodeEnriched(m.Data())
		if err != nil {
			errs[i] = err
			continue
		}
		fired = append(fired, s.Engine.Observe(p, now)...)
	}
	for _, a := range fired {
		if err := s.publish(ctx, a); err != nil {
			// The engine's counts already include this batch: retrying the
			// posts would count them twice, so keep trying the alert.
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
			return errs
		}
	}
	return errs
}

func (s *Stage) publish(ctx context.Context, a *Alert) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	for attempt := 1; ; attempt++ {
		_, err = s.Bus.Publish(ctx, bus.Out{Subject: a.Subject(), Data: data, MsgID: a.ID})
		if err == nil {
			s.Log.Info().Str("alert", a.ID).Int("observed", a.Observed).Float64("baseline", a.Baseline).Msg("alert fired")
			return nil
		}
		if ctx.Err() != nil || attempt >= 20 {
			return fmt.Errorf("publishing alert %s: %w", a.ID, err)
		}
		t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// SortAlerts orders alerts by window start, then brand.
func SortAlerts(as []*Alert) {
	sort.Slice(as, func(i, j int) bool {
		if !as[i].WindowStart.Equal(as[j].WindowStart) {
			return as[i].WindowStart.Before(as[j].WindowStart)
		}
		return as[i].Brand < as[j].Brand
	})
}
