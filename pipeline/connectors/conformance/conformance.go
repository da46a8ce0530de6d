// Package conformance is the suite every iwom connector passes, in the
// way Benthos runs one suite against each of its inputs: against an
// embedded NATS with JetStream, a connector is started, delivers part of
// a known set of posts, is stopped mid-way (context cancelled, as on
// SIGTERM), restarted as a new instance on the same state, and delivers
// the rest. The raw stream must then hold exactly the expected posts:
// every expected Nats-Msg-Id, nothing else, each stored once.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/connectors"
	_ "github.com/iwom/iwom/pipeline/connectors/all" // every connector kind
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/pipeline/post"
)

// Case describes one connector to the suite.
type Case struct {
	// Want is every post key ("<platform>:<id>") the connector must
	// deliver over both phases.
	Want []string
	// Entry is the connectors: entry of phase 0 (the run that is cut
	// short) or 1 (the run after the restart).
	Entry func(phase int) registry.Entry
	// Feed hands the running connector its input for the phase: it makes
	// data visible on the fake platform, or pushes it. For phase 0 it
	// returns once the connector is part-way through (pub tells how far).
	Feed func(ctx context.Context, t *testing.T, c connectors.Connector, phase int, pub *Counter) error
	// Finite reports whether the phase's instance returns by itself once
	// caught up (a poller with once: true); otherwise the suite cancels
	// it after Feed returned.
	Finite func(phase int) bool
	// MaxRepublished bounds the posts handed to the publisher more than
	// once (a page fetched again after the cut); -1 does not check.
	MaxRepublished int
}

// Env is the suite's NATS and the deps connectors are built with.
type Env struct {
	Bus  *bus.Bus
	Deps registry.Deps
}

// NewEnv starts an embedded NATS server with JetStream for a test.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.NATS.EmbeddedListen = "127.0.0.1:-1"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, cfg.NATS, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatalf("starting embedded NATS: %v", err)
	}
	t.Cleanup(b.Close)
	return &Env{Bus: b, Deps: registry.Deps{
		Bus:    b,
		Reg:    prometheus.NewRegistry(),
		Log:    zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Limits: post.Limits{MaxTextBytes: cfg.Limits.MaxTextBytes},
	}}
}

// Publisher is the JetStream publisher of a connector, counted.
func (e *Env) Publisher(name string) *Counter {
	return &Counter{Inner: &connectors.JetStreamPublisher{Bus: e.Bus, Source: name, Limits: e.Deps.Limits, Log: e.Deps.Log}}
}

// Run runs the suite for c.
func Run(t *testing.T, c Case) {
	t.Helper()
	env := NewEnv(t)
	var published []*Counter
	for phase := range 2 {
		conn, err := registry.Build(c.Entry(phase), env.Deps)
		if err != nil {
			t.Fatalf("phase %d: building the connector: %v", phase, err)
		}
		pub := env.Publisher(conn.Name())
		published = append(published, pub)
		if err := RunPhase(t, conn, pub, phase, c.Finite(phase), func(ctx context.Context) error {
			return c.Feed(ctx, t, conn, phase, pub)
		}); err != nil {
			t.Fatalf("phase %d: %v", phase, err)
		}
	}
	CheckStream(t, env.Bus, c.Want)
	calls, distinct := 0, map[string]bool{}
	for _, p := range published {
		for k, n := range p.Counts() {
			calls += n
			distinct[k] = true
		}
	}
	again := calls - len(distinct)
	t.Logf("%d posts delivered; %d handed to the publisher again after the restart", len(distinct), again)
	if c.MaxRepublished >= 0 && again > c.MaxRepublished {
		t.Errorf("%d posts were published more than once; at most %d (one page around the cut) expected", again, c.MaxRepublished)
	}
}

// RunPhase runs conn with feed and stops it: a finite connector must
// return nil by itself, another is cancelled once feed returned and must
// then return nil. Readiness is checked on the way.
func RunPhase(t *testing.T, conn connectors.Connector, pub connectors.Publisher, phase int, finite bool, feed func(context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- conn.Run(runCtx, pub) }()
	r, isReadier := conn.(registry.Readier)
	if !isReadier {
		return fmt.Errorf("connector %s does not report readiness (registry.Readier)", conn.Name())
	}
	ferr := feed(ctx)
	if ferr != nil {
		stop()
		<-done
		return fmt.Errorf("feeding: %w", ferr)
	}
	if !finite {
		if err := r.Ready(); err != nil {
			stop()
			<-done
			return fmt.Errorf("not ready while running: %w", err)
		}
		stop()
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
	case <-ctx.Done():
		return errors.New("the connector did not return in time")
	}
	if err := r.Ready(); err == nil {
		return errors.New("still ready after Run returned")
	}
	return nil
}

// CheckStream checks that the raw stream holds exactly the posts of want:
// each expected Nats-Msg-Id once, none missing, none extra.
func CheckStream(t *testing.T, b *bus.Bus, want []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[string]int{}
	total := 0
	err := b.ReadAll(ctx, bus.StreamRaw, bus.RawPrefix+">", func(m jetstream.Msg) error {
		total++
		got[m.Headers().Get(jetstream.MsgIDHeader)]++
		return nil
	})
	if err != nil {
		t.Fatalf("reading the raw stream: %v", err)
	}
	wantSet := map[string]bool{}
	for _, k := range want {
		wantSet[k] = true
	}
	var missing, extra, twice []string
	for k := range wantSet {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	for k, n := range got {
		if !wantSet[k] {
			extra = append(extra, k)
		}
		if n > 1 {
			twice = append(twice, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(twice)
	if len(missing) > 0 || len(extra) > 0 || len(twice) > 0 || total != len(wantSet) {
		t.Errorf("raw stream: %d messages, %d distinct ids, want %d\nmissing %d: %s\nextra %d: %s\nstored twice %d: %s",
			total, len(got), len(wantSet), len(missing), head(missing), len(extra), head(extra), len(twice), head(twice))
	}
	si, err := b.StreamInfo(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatalf("reading the raw stream: %v", err)
	}
	if si.State.Msgs != uint64(len(wantSet)) {
		t.Errorf("raw stream holds %d messages, want %d", si.State.Msgs, len(wantSet))
	}
}

func head(s []string) string {
	if len(s) > 8 {
		return fmt.Sprint(s[:8]) + " …"
	}
	return fmt.Sprint(s)
}

// Counter is a Publisher that counts what goes through it to Inner.
type Counter struct {
	Inner connectors.Publisher

	mu      sync.Mutex
	counts  map[string]int
	calls   int
	rejects int
	changed chan struct{}
}

// Publish implements connectors.Publisher.
func (c *Counter) Publish(ctx context.Context, p *post.Post) error {
	err := c.Inner.Publish(ctx, p)
	if err == nil {
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[p.Key()]++
		c.calls++
		c.notify()
		c.mu.Unlock()
	}
	return err
}

// Reject implements connectors.Publisher.
func (c *Counter) Reject(ctx context.Context, line int, payload []byte, reason error) error {
	c.mu.Lock()
	c.rejects++
	c.mu.Unlock()
	return c.Inner.Reject(ctx, line, payload, reason)
}

// Flush implements connectors.Publisher.
func (c *Counter) Flush(ctx context.Context) error { return c.Inner.Flush(ctx) }

// Store implements connectors.Publisher.
func (c *Counter) Store(ctx context.Context, ps []*post.Post) []connectors.Stored {
	out := c.Inner.Store(ctx, ps)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range out {
		if r.Err != nil {
			continue
		}
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[ps[i].Key()]++
		c.calls++
	}
	c.notify()
	return out
}

func (c *Counter) notify() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// Calls is how many posts were published (with repeats).
func (c *Counter) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// Rejects is how many raw items were dead-lettered.
func (c *Counter) Rejects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejects
}

// Counts is how many times each key was published.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, n := range c.counts {
		out[k] = n
	}
	return out
}

// WaitCalls waits until at least n posts were published.
func (c *Counter) WaitCalls(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if c.calls >= n {
			c.mu.Unlock()
			return nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d posts (have %d): %w", n, c.Calls(), ctx.Err())
		}
	}
}
