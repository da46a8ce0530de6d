package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
)

// sseEvents reads server-sent events from resp until n are read; comments
// are returned as events named ":".
func sseEvents(t *testing.T, resp *http.Response, n int) []map[string]string {
	t.Helper()
	var out []map[string]string
	sc := bufio.NewScanner(resp.Body)
	ev := map[string]string{}
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(ev) > 0 {
				out = append(out, ev)
				ev = map[string]string{}
			}
		case strings.HasPrefix(line, ":"):
			ev[":"] = strings.TrimSpace(line[1:])
		default:
			k, v, _ := strings.Cut(line, ": ")
			if ev[k] != "" {
				v = ev[k] + "\n" + v
			}
			ev[k] = v
		}
	}
	if len(out) < n {
		t.Fatalf("read %d events, want %d: %v (%v)", len(out), n, out, sc.Err())
	}
	return out
}

func TestAlertStream(t *testing.T) {
	s, hs := newServer(t, nil, 10*time.Second)
	s.Engine.WatchList = mustWatchList(t)
	if code, body, _ := get(t, hs, "/v1/alerts/stream"); code != 503 {
		t.Errorf("no feed: %d %s, want 503", code, body)
	}
	type call struct {
		brands []string
		after  uint64
	}
	calls := make(chan call, 4)
	live := make(chan []byte, 1)
	s.SetAlerts(func(ctx context.Context, brands []string, after uint64, fn func(uint64, []byte) error) error {
		calls <- call{brands, after}
		if after == 0 {
			for i, d := range []string{`{"id":"a","seq":1}`, "{\"id\":\"b\",\n\"seq\":1}"} {
				if err := fn(uint64(i+1), []byte(d)); err != nil {
					return err
				}
			}
		}
		select {
		case d := <-live:
			if err := fn(3, d); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
		<-ctx.Done()
		return nil
	})
	defer func(p time.Duration) { ssePing = p }(ssePing)
	ssePing = 100 * time.Millisecond

	req, _ := http.NewRequest("GET", hs.URL+"/v1/alerts/stream?brand=西门子,haier", nil)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	if c := <-calls; strings.Join(c.brands, ",") != "siemens,haier" || c.after != 0 {
		t.Errorf("feed called with %v", c)
	}
	evs := sseEvents(t, resp, 3)
	if evs[0]["retry"] != "2000" || evs[1]["event"] != "alert" || evs[1]["id"] != "1" || evs[1]["data"] != `{"id":"a","seq":1}` {
		t.Errorf("first events: %v", evs)
	}
	if evs[2]["id"] != "2" || evs[2]["data"] != "{\"id\":\"b\",\n\"seq\":1}" {
		t.Errorf("a multi-line payload must become several data lines: %v", evs[2])
	}
	live <- []byte(`{"id":"c","seq":2}`)
	var ev map[string]string
	for ev = sseEvents(t, resp, 1)[0]; ev[":"] == "ping"; ev = sseEvents(t, resp, 1)[0] {
	}
	if ev["id"] != "3" || ev["data"] != `{"id":"c","seq":2}` {
		t.Errorf("live event: %v", ev)
	}
	if ev := sseEvents(t, resp, 1)[0]; ev[":"] != "ping" {
		t.Errorf("an idle stream pings: %v", ev)
	}
	resp.Body.Close()

	// Resuming: Last-Event-ID is the sequence to continue after.
	req, _ = http.NewRequest("GET", hs.URL+"/v1/alerts/stream", nil)
	req.Header.Set("Last-Event-ID", "42")
	resp, err = hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if c := <-calls; len(c.brands) != 0 || c.after != 42 {
		t.Errorf("resume: feed called with %v", c)
	}
	resp.Body.Close()

	for path, want := range map[string]int{
		"/v1/alerts/stream?brand=a.%3E":                      400, // not a subject token: no subject injection
		"/v1/alerts/stream?brand=a*":                         400,
		"/v1/alerts/stream?after=x":                          400,
		"/v1/alerts/stream?since=1h":                         400,
		"/v1/alerts/stream?brand=" + strings.Repeat("x", 65): 400,
	} {
		if code, body, _ := get(t, hs, path); code != want {
			t.Errorf("%s: %d %s, want %d", path, code, body, want)
		}
	}
}

func TestAlertStreamNeedsToken(t *testing.T) {
	s, hs := newServer(t, []string{"sekret"}, 10*time.Second)
	s.SetAlerts(func(ctx context.Context, _ []string, _ uint64, _ func(uint64, []byte) error) error {
		<-ctx.Done()
		return nil
	})
	if code, _, _ := get(t, hs, "/v1/alerts/stream"); code != 401 {
		t.Errorf("without token: %d", code)
	}
	if code, _, _ := get(t, hs, "/v1/brands"); code != 401 {
		t.Errorf("brands without token: %d", code)
	}
}

func TestBrands(t *testing.T) {
	s, hs := newServer(t, nil, 10*time.Second)
	s.Engine.WatchList = mustWatchList(t)
	code, body, _ := get(t, hs, "/v1/brands")
	var doc struct {
		Brands []struct {
			ID, Name string
			Aliases  []string
		}
		Platforms []string
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if len(doc.Brands) != 2 || doc.Brands[0].ID != "siemens" || doc.Brands[0].Name != "西门子" || len(doc.Brands[1].Aliases) != 0 ||
		strings.Join(doc.Platforms, ",") != "weibo,wechat" {
		t.Errorf("%s", body)
	}
}

func mustWatchList(t *testing.T) *brands.WatchList {
	t.Helper()
	wl, err := brands.New([]brands.Brand{{ID: "siemens", Name: "西门子", Aliases: []string{"西门子", "Siemens"}}, {ID: "haier", Name: "海尔"}})
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

// An open alert stream ends when the server shuts down, rather than
// holding the shutdown for its whole grace period.
func TestAlertStreamEndsOnShutdown(t *testing.T) {
	s, _ := newServer(t, nil, time.Second)
	s.SetAlerts(func(ctx context.Context, _ []string, _ uint64, _ func(uint64, []byte) error) error {
		<-ctx.Done()
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, "127.0.0.1:0", func(a net.Addr) { addr <- a.String() }) }()
	resp, err := http.Get("http://" + <-addr + "/v1/alerts/stream")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v", err)
	}
	defer resp.Body.Close()
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("shutdown took %s with a stream open", d)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Serve did not return 8 s after shutdown began, with an alert stream open")
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Logf("stream closed: %v", err)
	}
}
