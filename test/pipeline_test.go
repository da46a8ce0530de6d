package test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/connectors/replay"
)

func (e *env) replay(path string, rate float64) *replay.Connector {
	e.t.Helper()
	c := &replay.Connector{Path: path, Rate: rate, Limits: e.app.Limits()}
	if err := c.Run(context.Background(), e.app.Publisher("replay")); err != nil {
		e.t.Fatalf("replay: %v", err)
	}
	return c
}

// (a) 10,000 generated posts through replay → enrich → sink give exactly
// the rows, and the per-brand and per-label counts, that --truth says.
func TestPipelineMatchesTruth(t *testing.T) {
	e := newEnv(t, nil)
	path, truth := generate(t, 10000, 42, "crisis")
	e.start(e.enrichRunner(), e.sinkRunner(), e.app.AlertsRunner())
	c := e.replay(path, 0)
	if c.Lines != 10000 || c.Bad != 0 {
		t.Fatalf("replayed %d lines with %d bad", c.Lines, c.Bad)
	}
	e.waitIdle(app.DurableEnrich, app.DurableSink, app.DurableAlerts)
	e.checkTruth(truth)

	// The crisis fires a negative-spike alert for its brand, inside the
	// storm, on iwom.alerts.<brand>.negative_spike.
	var got []map[string]any
	err := e.app.Bus.ReadAll(context.Background(), bus.StreamAlerts, bus.AlertSubject(truth.Crisis.Brand, "negative_spike"), func(m jetstream.Msg) error {
		var a map[string]any
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			t.Errorf("alert is not JSON: %v", err)
		}
		got = append(got, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatalf("no negative_spike alert for %s", truth.Crisis.Brand)
	}
	ws, _ := time.Parse(time.RFC3339, got[0]["window_start"].(string))
	if ws.Before(truth.Crisis.Start.Add(-10*time.Minute)) || ws.After(truth.Crisis.End) {
		t.Errorf("alert window %s is outside the crisis %s–%s", ws, truth.Crisis.Start, truth.Crisis.End)
	}
	// No other brand had a storm.
	others := 0
	_ = e.app.Bus.ReadAll(context.Background(), bus.StreamAlerts, bus.AlertsPrefix+">", func(m jetstream.Msg) error {
		if !strings.HasPrefix(m.Subject(), bus.AlertsPrefix+truth.Crisis.Brand+".") {
			others++
		}
		return nil
	})
	if others != 0 {
		t.Errorf("%d alerts for brands without a crisis", others)
	}
}

// (b) The same file replayed twice gives the same counts, even when the
// second copy gets past JetStream's duplicate window and reaches
// ClickHouse: iwom.posts counts each post once.
func TestReplayTwice(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.NATS.DuplicateWindow = time.Second })
	path, truth := generate(t, 3000, 7, "steady")
	e.start(e.enrichRunner(), e.sinkRunner())
	e.replay(path, 0)
	e.waitIdle()
	time.Sleep(1500 * time.Millisecond) // past the duplicate window
	e.replay(path, 0)
	e.waitIdle()
	if stored := e.count("SELECT count() FROM " + e.db + ".posts_store"); stored <= uint64(truth.Total) {
		t.Logf("posts_store has %d rows (duplicates already merged)", stored)
	}
	e.checkTruth(truth)

	// Inside the window, JetStream itself drops the copy.
	e2 := newEnv(t, nil)
	e2.start(e2.enrichRunner(), e2.sinkRunner())
	e2.replay(path, 0)
	pub := e2.app.Publisher("replay")
	c := &replay.Connector{Path: path, Limits: e2.app.Limits()}
	if err := c.Run(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	if st := pub.Stats(); st.Duplicates != int64(truth.Total) || st.Published != 0 {
		t.Errorf("second replay inside the window: %+v, want all %d duplicates", st, truth.Total)
	}
	e2.waitIdle()
	e2.checkTruth(truth)
}

// (c), the sink stopped and restarted mid-stream, is
// TestAnalyticsSinkRestartExact: same counts in iwom.posts and every rollup.

// (d) ClickHouse stopped mid-stream and started again: same counts,
// nothing lost (the sink holds its batch and retries; JetStream keeps the
// rest).
func TestClickHouseOutage(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.ClickHouse.BatchSize = 200 })
	path, truth := generate(t, 4000, 13, "steady")
	e.start(e.enrichRunner(), e.sinkRunner())
	done := make(chan struct{})
	go func() { defer close(done); e.replay(path, 2000) }()
	waitRows(t, e, 600)
	if err := ch.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	if err := ch.Start(); err != nil {
		t.Fatal(err)
	}
	<-done
	e.waitIdle()
	e.checkTruth(truth)
}

func waitRows(t *testing.T, e *env, n uint64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var got uint64
		if err := e.conn.QueryRow(context.Background(), "SELECT count() FROM "+e.db+".posts_store").Scan(&got); err == nil && got >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fewer than %d rows after 2 minutes", n)
}

// (e) Malformed, invalid-UTF-8, oversized and incomplete posts land in the
// DLQ with a reason while the good ones arrive.
func TestBadInputToDLQ(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxTextBytes = 4096 })
	path, truth := generate(t, 500, 5, "steady")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct{ line, reason string }{
		{`{"platform":"weibo","id":"x1","text":"半截`, "malformed JSON"},
		{"{\"platform\":\"weibo\",\"id\":\"x2\",\"text\":\"\xff\xfe坏\",\"created_at\":\"2026-11-20T10:00:00+08:00\"}", "not valid UTF-8"},
		{`{"platform":"weibo","id":"x3","text":"` + strings.Repeat("长", 2000) + `","created_at":"2026-11-20T10:00:00+08:00"}`, "over the limit"},
		{`{"platform":"weibo","text":"没有id","created_at":"2026-11-20T10:00:00+08:00"}`, "missing id"},
		{`{"id":"x5","text":"没有平台","created_at":"2026-11-20T10:00:00+08:00"}`, "missing platform"},
		{`{"platform":"weibo","id":"x6","created_at":"2026-11-20T10:00:00+08:00"}`, "missing text"},
		{`{"platform":"weibo","id":"x7","text":"没有时间"}`, "missing created_at"},
		{strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "malformed JSON"},
		{`{"platform":"Weibo Bad","id":"x9","text":"t","created_at":"2026-11-20T10:00:00+08:00"}`, "subject token"},
		{`[1,2,3]`, "malformed JSON"},
	}
	mixed := filepath.Join(t.TempDir(), "mixed.jsonl")
	var b strings.Builder
	lines := strings.Split(strings.TrimSpace(string(good)), "\n")
	for i, l := range lines {
		b.WriteString(l + "\n")
		if i%50 == 0 && i/50 < len(bad) {
			b.WriteString(bad[i/50].line + "\n")
		}
	}
	if err := os.WriteFile(mixed, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.start(e.enrichRunner(), e.sinkRunner())
	c := e.replay(mixed, 0)
	if c.Bad != len(bad) {
		t.Errorf("replay rejected %d lines, want %d", c.Bad, len(bad))
	}
	e.waitIdle()
	e.checkTruth(truth)

	var reasons []string
	err = e.app.Bus.ReadAll(context.Background(), bus.StreamDLQ, bus.DLQSubject("replay"), func(m jetstream.Msg) error {
		h := m.Headers()
		if h.Get(bus.HdrDLQLine) == "" || h.Get(bus.HdrDLQStage) != "replay" {
			t.Errorf("dead letter without line or stage: %v", h)
		}
		if len(m.Data()) == 0 {
			t.Errorf("dead letter without payload")
		}
		reasons = append(reasons, h.Get(bus.HdrDLQError))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reasons) != len(bad) {
		t.Fatalf("%d dead letters, want %d: %q", len(reasons), len(bad), reasons)
	}
	for i, bd := range bad {
		if !strings.Contains(reasons[i], bd.reason) {
			t.Errorf("dead letter %d reason %q does not say %q", i, reasons[i], bd.reason)
		}
	}
}

// A poison message already on the raw stream (published by a foreign
// client, bypassing the connector's checks) is dead-lettered by the enrich
// stage with the stage, the error and the original payload, and the stream
// moves on.
func TestEnrichDeadLettersPoison(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	poison := []byte("{\"platform\":\"weibo\",\"id\":\"p1\",\"text\":\"\xff\"}")
	if _, err := e.app.Bus.Publish(ctx, bus.Out{Subject: bus.RawSubject("weibo"), Data: poison, MsgID: "weibo:p1"}); err != nil {
		t.Fatal(err)
	}
	path, truth := generate(t, 200, 3, "steady")
	e.start(e.enrichRunner(), e.sinkRunner())
	e.replay(path, 0)
	e.waitIdle()
	e.checkTruth(truth)
	n := 0
	err := e.app.Bus.ReadAll(ctx, bus.StreamDLQ, bus.DLQSubject(app.DurableEnrich), func(m jetstream.Msg) error {
		n++
		if string(m.Data()) != string(poison) {
			t.Errorf("payload changed: %q", m.Data())
		}
		if h := m.Headers(); h.Get(bus.HdrDLQSubject) != bus.RawSubject("weibo") || !strings.Contains(h.Get(bus.HdrDLQError), "UTF-8") {
			t.Errorf("headers: %v", h)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("%d dead letters on iwom.dlq.enrich (err %v), want 1", n, err)
	}
}
