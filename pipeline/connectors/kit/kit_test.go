package kit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for n, full := range map[int]time.Duration{1: 10, 2: 20, 3: 40, 4: 80, 5: 80, 50: 80} {
		full *= time.Millisecond
		for range 50 {
			d := b.Delay(n)
			if d < full/2 || d > full {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, full/2, full)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[b.Delay(3)] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter")
	}
}

func testRetry(reg *prometheus.Registry) *Retry {
	return &Retry{Source: "s", RateLimit: Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond},
		Transient: Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}, Attempts: 3,
		Instr: NewMetrics(reg).For("c", nil), Log: zerolog.Nop()}
}

func TestRetry(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := testRetry(reg)
	ctx := context.Background()
	n := 0
	err := r.Do(ctx, "x", func(context.Context) error {
		n++
		if n < 10 {
			return Errf(RateLimited, "rate_limit", "slow down")
		}
		return nil
	})
	if err != nil || n != 10 {
		t.Errorf("rate limits are retried until they pass: %v after %d", err, n)
	}
	n = 0
	err = r.Do(ctx, "x", func(context.Context) error { n++; return Errf(Transient, "network", "down") })
	if err == nil || n != 3 || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Errorf("transient: %v after %d", err, n)
	}
	n = 0
	err = r.Do(ctx, "x", func(context.Context) error { n++; return Errf(Fatal, "auth", "bad token") })
	if c, _ := ClassOf(err); c != Fatal || n != 1 {
		t.Errorf("fatal: %v after %d", err, n)
	}
	plain := errors.New("unclassified")
	if err := r.Do(ctx, "x", func(context.Context) error { return plain }); err != plain {
		t.Errorf("unclassified: %v", err)
	}
	start := time.Now()
	n = 0
	err = r.Do(ctx, "x", func(context.Context) error {
		n++
		if n == 1 {
			return &Error{Class: Paused, Kind: "quota", Until: time.Now().Add(30 * time.Millisecond), Err: errors.New("quota")}
		}
		return nil
	})
	if err != nil || time.Since(start) < 30*time.Millisecond {
		t.Errorf("paused: %v after %v", err, time.Since(start))
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Do(cctx, "x", func(context.Context) error { return Errf(RateLimited, "rate_limit", "x") }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if got := testutilCount(reg, "rate_limit"); got != 9 {
		t.Errorf("rate_limit errors %v, want 9 (not the cancelled call)", got)
	}
}

func testutilCount(reg *prometheus.Registry, kind string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "iwom_connector_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestRunGroups(t *testing.T) {
	h := NewHealth(NewMetrics(nil).For("c", nil))
	var order []string
	groups := []Group{
		{Name: "a", Interval: time.Millisecond, Cycle: func(context.Context) error { order = append(order, "a"); return nil }},
		{Name: "b", Interval: time.Millisecond, Cycle: func(context.Context) error { order = append(order, "b"); return Errf(Transient, "x", "b failed") }},
		{Name: "c", Interval: time.Millisecond, Cycle: func(context.Context) error { order = append(order, "c"); return nil }},
	}
	err := RunGroups(context.Background(), groups, true, h, zerolog.Nop())
	if strings.Join(order, "") != "abc" || err == nil || !strings.Contains(err.Error(), "b failed") {
		t.Errorf("once: order %v, err %v", order, err)
	}
	// Long-running: a fatal group stops; when all have, RunGroups returns.
	var cycles atomic.Int32
	h.SetRunning(true)
	groups = []Group{
		{Name: "x", Interval: time.Millisecond, Cycle: func(context.Context) error {
			if cycles.Add(1) > 3 {
				return Errf(Fatal, "auth", "token expired")
			}
			return nil
		}},
	}
	err = RunGroups(context.Background(), groups, false, h, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "token expired") {
		t.Errorf("all stopped: %v", err)
	}
	if r := h.Ready(); r == nil || !strings.Contains(r.Error(), "source x stopped") {
		t.Errorf("Ready: %v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	groups = []Group{{Name: "y", Interval: time.Millisecond, Cycle: func(context.Context) error { return Errf(Transient, "x", "flaky") }}}
	if err := RunGroups(ctx, groups, false, h, zerolog.Nop()); err != nil {
		t.Errorf("a clean stop returns nil: %v", err)
	}
}

func TestKey(t *testing.T) {
	if got := Key("wb-1", "search", "西门子 冰箱"); !strings.HasPrefix(got, "wb-1.search.=") || strings.ContainsAny(got, " 西") {
		t.Errorf("Key = %q", got)
	}
	if Key("a", "b.c") == Key("a", "b", "c") || Key("a", "=x") == Key("a", "x") {
		t.Error("keys collide")
	}
}

func TestTracked(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := NewMemStore()
	tr := &Tracked[int]{Store: store, Key: "k", Max: 2, TTL: time.Hour, Now: func() time.Time { return now }}
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c"} {
		now = now.Add(time.Minute)
		if err := tr.Add(ctx, id, i); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := tr.List(ctx)
	if len(list) != 2 || list[0].ID != "b" || list[1].ID != "c" || list[1].Value != 2 {
		t.Errorf("over max: %+v", list)
	}
	if err := tr.Save(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59*time.Minute + 30*time.Second)
	again := &Tracked[int]{Store: store, Key: "k", Max: 2, TTL: time.Hour, Now: func() time.Time { return now }}
	list, _ = again.List(ctx)
	if len(list) != 1 || list[0].ID != "c" {
		t.Errorf("after reload and TTL: %+v", list)
	}
}

func TestFlexTypes(t *testing.T) {
	var v struct {
		A, B, C, D Int
		E, F, G    ID
		H, I, J    Bool
	}
	err := json.Unmarshal([]byte(`{"A":21332,"B":"10023","C":null,"D":1.9,"E":4900000000000123,"F":"49","G":4.9e15,"H":1,"I":"true","J":null}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.A != 21332 || v.B != 10023 || v.C != 0 || v.D != 1 || v.E != "4900000000000123" || v.F != "49" || v.G != "4900000000000000" || !bool(v.H) || !bool(v.I) || bool(v.J) {
		t.Errorf("%+v", v)
	}
	for _, bad := range []string{`{"A":"x"}`, `{"E":[1]}`, `{"E":1.5}`, `{"H":"yes"}`, `{"A":1e30}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestMetricsShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	a.For("one", nil).Fetched(2)
	b.For("two", nil).Fetched(3)
	if a.Fetched != b.Fetched {
		t.Error("a second NewMetrics on one registry made new collectors")
	}
}

// TestHTTPErrorsHideTokens: a network error does not repeat the query
// string, where access tokens and secrets travel.
func TestHTTPErrorsHideTokens(t *testing.T) {
	h := NewHTTP(time.Second, "")
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/cgi-bin/token?secret=TOPSECRET&access_token=TOKEN", nil)
	_, err := h.Do(req)
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("error %v", err)
	}
	if c, _ := ClassOf(err); c != Transient {
		t.Errorf("class %v", c)
	}
}
