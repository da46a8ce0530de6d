package alertsrun

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
)

// openBus starts an embedded NATS (listening on a free port when listen).
func openBus(t *testing.T, listen bool) (*bus.Bus, *config.Config) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NATS.EmbeddedListen = ""
	if listen {
		cfg.NATS.EmbeddedListen = "127.0.0.1:-1"
	}
	cfg.NATS.AckWait = 5 * time.Second
	cfg.NATS.FetchWait = 100 * time.Millisecond
	cfg.NATS.FetchBatch = 200
	b, err := bus.Open(context.Background(), cfg.NATS, cfg.DataDir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, cfg
}

// enrichedOf turns test inputs into enriched posts.
func enrichedOf(in *alerts.Input) *post.Enriched {
	return &post.Enriched{
		Post: post.Post{Version: 1, Platform: in.Platform, ID: in.ID, Text: in.Text, CreatedAt: in.CreatedAt, IngestedAt: in.ObservedAt,
			Author:  post.Author{ID: "u" + in.ID, Name: in.AuthorName, Followers: in.Followers, Verified: in.Verified, VerifiedType: in.VerifiedType},
			Metrics: post.Metrics{Reposts: in.Reposts, Comments: in.Comments}},
		Tokens: in.Tokens, Keywords: in.Keywords, Brands: in.Brands,
		Sentiment: post.Sentiment{Label: in.Labels[0]},
	}
}

func publishInputs(t *testing.T, b *bus.Bus, ins []*alerts.Input) {
	t.Helper()
	outs := make([]bus.Out, len(ins))
	for i, in := range ins {
		data, err := json.Marshal(enrichedOf(in))
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = bus.Out{Subject: bus.EnrichedSubject(in.Platform), Data: data, MsgID: in.Key()}
	}
	for i := 0; i < len(outs); i += 1000 {
		for _, r := range b.PublishAll(context.Background(), outs[i:min(i+1000, len(outs))]) {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
}

// scenario is a few brands' traffic with storms, as published.
func scenario(seed uint64, brands ...string) []*alerts.Input {
	g := newGen(seed)
	var parts [][]*alerts.Input
	for i, b := range brands {
		parts = append(parts, g.stream(b, t0, t0.Add(7*time.Hour), 2, 0.2),
			g.burst(b, t0.Add(time.Duration(2+i)*time.Hour+17*time.Minute), 20*time.Minute, 120, post.Negative))
	}
	ins := merge(parts...)
	for _, in := range ins {
		in.Tokens = []string{in.Brands[0], "投诉"}
	}
	return ins
}

// storedAlerts reads the alerts stream: every message, and whether an
// (id, seq) appears twice.
func storedAlerts(t *testing.T, b *bus.Bus) ([]*alerts.Alert, []string) {
	t.Helper()
	var as []*alerts.Alert
	seen := map[string]bool{}
	var dups []string
	err := b.ReadAll(context.Background(), bus.StreamAlerts, bus.AlertsPrefix+">", func(m jetstream.Msg) error {
		var a alerts.Alert
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			return err
		}
		if m.Subject() != a.Subject() || m.Headers().Get(jetstream.MsgIDHeader) != a.MsgID() {
			t.Errorf("alert %s on %s with Msg-Id %s", a.MsgID(), m.Subject(), m.Headers().Get(jetstream.MsgIDHeader))
		}
		if seen[a.MsgID()] {
			dups = append(dups, a.MsgID())
		}
		seen[a.MsgID()] = true
		as = append(as, &a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return as, dups
}

// canon is the alerts without their wall-clock field, sorted.
func canon(as []*alerts.Alert) []string {
	var out []string
	for _, a := range as {
		c := *a
		c.EmittedAt = time.Time{}
		data, _ := json.Marshal(&c)
		out = append(out, string(data))
	}
	sort.Strings(out)
	return out
}

func expected(t *testing.T, rs *alerts.Rules, ins []*alerts.Input) []*alerts.Alert {
	e := mustEngine(t, rs)
	var out []*alerts.Alert
	for i, in := range ins {
		out = append(out, e.Observe(in, uint64(i+1))...)
	}
	return out
}

func testAlertsConfig(cfg *config.Config, rulesFile string) config.Alerts {
	a := cfg.Alerts
	a.RulesFile = rulesFile
	a.ReloadInterval = time.Millisecond
	a.LeaseTTL = 3 * time.Second
	return a
}

func writeRules(t *testing.T, path, doc string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A stage that crashes between publishing its alerts and saving its state
// is replaced by one that reloads the state, gets the batch again and
// re-sends the same alerts (dropped by the stream as duplicates); one that
// crashes after saving but before acking gets its batch again and does not
// count it twice. The stream holds each alert message exactly once, the
// same as an engine that never stopped.
func TestStageRestartDedup(t *testing.T) {
	b, cfg := openBus(t, false)
	ctx := context.Background()
	rs := mustRules(t, spikeRules)
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	writeRules(t, rulesFile, spikeRules)
	ins := scenario(11, "a", "b", "c")
	publishInputs(t, b, ins)
	want := expected(t, rs, ins)

	acfg := testAlertsConfig(cfg, rulesFile)
	reg := prometheus.NewRegistry()
	m := alerts.NewMetrics(reg)
	newStage := func() *Stage { return NewSingleStage(b, acfg, nil, m, zerolog.Nop()) }
	cons, err := b.Consumer(ctx, bus.StreamEnriched, b.ConsumerConfig("alerts-test", bus.EnrichedPrefix+">", 1000))
	if err != nil {
		t.Fatal(err)
	}
	st := newStage()
	crashed := false
	st.beforeSave = func() error {
		if !crashed && len(st.outbox) == 0 && st.Engine.Stats().Emitted > 0 {
			crashed = true
			return errors.New("crash")
		}
		return nil
	}
	done, lostAcks := 0, false
	reobserved := int64(0)
	for done < len(ins) {
		batch, err := cons.Fetch(150, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []jetstream.Msg
		for msg := range batch.Messages() {
			msgs = append(msgs, msg)
		}
		errs := processJS(ctx, st, msgs)
		if errs[0] != nil {
			// The process dies: a new one gets the batch again.
			st = newStage()
			errs = processJS(ctx, st, msgs)
		}
		for i := range msgs {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
		}
		if crashed && !lostAcks && done > len(ins)/2 {
			// The process dies after saving, before acking: a new one gets
			// the batch again and does not count it twice.
			lostAcks = true
			st = newStage()
			for i, err := range processJS(ctx, st, msgs) {
				if err != nil {
					t.Fatal(i, err)
				}
			}
		}
		for _, msg := range msgs {
			_ = msg.Ack()
		}
		done += len(msgs)
		reobserved = max(reobserved, st.Engine.Stats().Reobserved)
	}
	if !crashed || !lostAcks {
		t.Fatal("the stage never crashed")
	}
	if reobserved == 0 {
		t.Errorf("the batch delivered again was counted again")
	}
	got, dups := storedAlerts(t, b)
	if len(dups) > 0 {
		t.Errorf("stored twice: %v", dups)
	}
	if !reflect.DeepEqual(canon(got), canon(want)) {
		t.Errorf("alerts after the restart differ: %d stored, %d expected", len(got), len(want))
	}
	if d := value(m.Duplicates); d == 0 {
		t.Errorf("the restarted stage re-sent nothing: the test did not crash after publishing")
	}

}

// The rules file is reloaded without a restart; an invalid one is refused
// and the rules in force stay.
func TestHotReload(t *testing.T) {
	b, cfg := openBus(t, false)
	ctx := context.Background()
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	strict := strings.Replace(spikeRules, "min_count: 10", "min_count: 100000", 1)
	writeRules(t, rulesFile, strict)
	ins := scenario(12, "a", "b", "c")
	publishInputs(t, b, ins)
	reg := prometheus.NewRegistry()
	m := alerts.NewMetrics(reg)
	st := NewSingleStage(b, testAlertsConfig(cfg, rulesFile), nil, m, zerolog.Nop())
	cons, err := b.Consumer(ctx, bus.StreamEnriched, b.ConsumerConfig("alerts-test", bus.EnrichedPrefix+">", 1000))
	if err != nil {
		t.Fatal(err)
	}
	process := func(n int) {
		for n > 0 {
			batch, err := cons.Fetch(min(n, 500), jetstream.FetchMaxWait(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			var msgs []jetstream.Msg
			for msg := range batch.Messages() {
				msgs = append(msgs, msg)
			}
			for i, err := range processJS(ctx, st, msgs) {
				if err != nil {
					t.Fatal(err)
				}
				_ = msgs[i].Ack()
			}
			n -= len(msgs)
		}
	}
	// The first storm starts 2h17m in: read 2 hours.
	cut := 0
	for i, in := range ins {
		if in.CreatedAt.After(t0.Add(2 * time.Hour)) {
			cut = i
			break
		}
	}
	process(cut)
	if st.Engine.Rules().Rule("negative_spike").MinCount != 100000 {
		t.Fatal("the strict rules are not in force")
	}
	// A broken file is refused.
	writeRules(t, rulesFile, strings.Replace(strict, "min_ratio: 2", "min_ratio: two", 1))
	time.Sleep(20 * time.Millisecond)
	process(10)
	if got := value(m.Reloads.WithLabelValues("invalid")); got != 1 || st.Engine.Rules().Rule("negative_spike").MinCount != 100000 {
		t.Fatalf("invalid reloads %g, min_count %d", got, st.Engine.Rules().Rule("negative_spike").MinCount)
	}
	// The looser rules apply to the storms that follow.
	writeRules(t, rulesFile, spikeRules)
	time.Sleep(20 * time.Millisecond)
	process(len(ins) - cut - 10)
	if got := value(m.Reloads.WithLabelValues("ok")); got != 1 {
		t.Errorf("%g reloads", got)
	}
	got, _ := storedAlerts(t, b)
	brands := map[string]bool{}
	for _, a := range got {
		if a.State == alerts.StateFiring {
			brands[a.Brand] = true
		}
	}
	if len(brands) != 3 {
		t.Errorf("storms after the reload fired for %v, want a, b and c", brands)
	}
}

// Two replicas with brand partitions split the work and publish exactly the
// single engine's alerts, each once.
func TestReplicasSplitBrands(t *testing.T) {
	b1, cfg := openBus(t, true)
	ncfg := cfg.NATS
	ncfg.URL = b1.ClientURL()
	b2, err := bus.Open(context.Background(), ncfg, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b2.Close)
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	writeRules(t, rulesFile, spikeRules)
	rs := mustRules(t, spikeRules)
	ins := scenario(13, "a", "b", "c", "d", "e", "f")
	want := expected(t, rs, ins)
	if len(want) < 12 {
		t.Fatalf("the scenario gives only %d alerts", len(want))
	}
	acfg := testAlertsConfig(cfg, rulesFile)
	acfg.Partitions = 4
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var svcs []*Service
	var regs []*alerts.Metrics
	buses := []*bus.Bus{b1, b2}
	if os.Getenv("ZZ_ONE") != "" {
		buses = buses[:1]
	}
	for i, b := range buses {
		m := alerts.NewMetrics(prometheus.NewRegistry())
		p, err := LoadParts(b, acfg, m, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		s := &Service{Parts: p, ID: []string{"r1", "r2"}[i], Rebalance: 200 * time.Millisecond}
		svcs, regs = append(svcs, s), append(regs, m)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	// Both replicas hold leases before the posts arrive.
	deadline := time.Now().Add(20 * time.Second)
	for os.Getenv("ZZ_ONE") == "" && (len(svcs[0].Held()) == 0 || len(svcs[1].Held()) == 0 || len(svcs[0].Held())+len(svcs[1].Held()) != 5) {
		if time.Now().After(deadline) {
			t.Fatalf("leases: r1 %v, r2 %v", svcs[0].Held(), svcs[1].Held())
		}
		time.Sleep(50 * time.Millisecond)
	}
	publishInputs(t, b1, ins)
	for {
		got, _ := storedAlerts(t, b1)
		if len(got) >= len(want) && idle(t, b1, acfg.Partitions) {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			diff(t, got, want)
			t.Fatalf("%d alerts of %d after a minute", len(got), len(want))
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, dups := storedAlerts(t, b1)
	if len(dups) > 0 {
		t.Errorf("stored twice: %v", dups)
	}
	if !reflect.DeepEqual(canon(got), canon(want)) {
		t.Errorf("replicas' alerts differ from the single engine's: %d vs %d", len(got), len(want))
		diff(t, got, want)
	}
	for i, m := range regs {
		if n := value(m.Routed); n > 0 {
			t.Logf("replica %d routed %g posts", i+1, n)
		}
	}
	if len(svcs) > 1 {
		t.Logf("leases: r1 %v, r2 %v", svcs[0].Held(), svcs[1].Held())
	}
}

// idle reports whether the router and every partition have consumed
// everything.
func idle(t *testing.T, b *bus.Bus, n int) bool {
	ctx := context.Background()
	info, err := b.ConsumerInfo(ctx, bus.StreamEnriched, DurableRouter(n))
	if err != nil || info.NumPending > 0 || info.NumAckPending > 0 {
		return false
	}
	si, err := b.StreamInfo(ctx, StreamAlertsIn)
	return err == nil && si.State.Msgs == 0
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func diff(t *testing.T, got, want []*alerts.Alert) {
	t.Helper()
	g, w := map[string]bool{}, map[string]bool{}
	for _, s := range canon(got) {
		g[s] = true
	}
	for _, s := range canon(want) {
		w[s] = true
	}
	for s := range w {
		if !g[s] {
			t.Logf("missing: %s", s)
		}
	}
	for s := range g {
		if !w[s] {
			t.Logf("extra:   %s", s)
		}
	}
}

// processJS runs JetStream messages through a stage as the runner hands
// them over, and returns the errors.
func processJS(ctx context.Context, st stage.Stage, msgs []jetstream.Msg) []error {
	in := make([]stage.Msg, len(msgs))
	for i, m := range msgs {
		in[i] = stage.Msg{Subject: m.Subject(), Data: m.Data(), Header: stage.Header(m.Headers()), Delivered: 1}
		if md, err := m.Metadata(); err == nil {
			in[i].Seq, in[i].Delivered = md.Sequence.Stream, md.NumDelivered
		}
	}
	res := st.Process(ctx, in)
	errs := make([]error, len(res))
	for i, r := range res {
		errs[i] = r.Err
	}
	return errs
}
