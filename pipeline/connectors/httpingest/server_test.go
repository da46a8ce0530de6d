package httpingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/connectors/kit/kittest"
	"github.com/iwom/iwom/pipeline/post"
)

const token = "test-token-0123456789abcdef"

type rig struct {
	c    *Connector
	pub  *kittest.Publisher
	reg  *prometheus.Registry
	url  string
	stop func() error
}

func start(t *testing.T, tweak func(*Config), pub *kittest.Publisher) *rig {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Name = "ingest-test"
	cfg.Listen = "127.0.0.1:0"
	cfg.Tokens = []string{"other-token-0123456789abcdef", token}
	cfg.AckTimeout = 2 * time.Second
	if tweak != nil {
		tweak(&cfg)
	}
	reg := prometheus.NewRegistry()
	limits := post.Limits{MaxTextBytes: 1000}
	c, err := New(cfg, kit.Env{Metrics: kit.NewMetrics(reg), Limits: limits, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
	if err != nil {
		t.Fatal(err)
	}
	if pub == nil {
		pub = &kittest.Publisher{Limits: limits}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, pub) }()
	for c.Addr() == "" || c.Ready() != nil {
		time.Sleep(2 * time.Millisecond)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return &rig{c: c, pub: pub, reg: reg, url: "http://" + c.Addr() + Path, stop: stop}
}

func (r *rig) post(t *testing.T, contentType, auth string, body []byte) (int, Answer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var a Answer
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("answer is not JSON: %s", data)
	}
	return resp.StatusCode, a
}

func good(id string) string {
	return `{"platform":"weibo","id":"` + id + `","text":"西门子冰箱不错[赞]","created_at":"2026-06-28T02:30:00Z","author":{"id":"1"},"metrics":{"reposts":0,"comments":0,"likes":1}}`
}

func TestJSONLPerLine(t *testing.T) {
	r := start(t, nil, nil)
	lines := []string{
		good("1"),
		`{"platform":"weibo","id":"2","created_at":"2026-06-28T02:30:00Z"}`, // no text
		``,
		`{"platform":"weibo","id":"3","text":"x"`, // truncated
		good("4"),
		`{"platform":"Weibo!","id":"5","text":"x","created_at":"2026-06-28T02:30:00Z"}`,
		`{"platform":"weibo","id":"6","text":"` + strings.Repeat("长", 400) + `","created_at":"2026-06-28T02:30:00Z"}`, // over max_text_bytes
		"{\"platform\":\"weibo\",\"id\":\"7\",\"text\":\"\xff\",\"created_at\":\"2026-06-28T02:30:00Z\"}",
		`{"platform":"weibo","id":"8","text":"x"}`, // no created_at
	}
	status, a := r.post(t, "application/x-ndjson", "Bearer "+token, []byte(strings.Join(lines, "\n")))
	if status != http.StatusAccepted || a.Accepted != 2 || a.Rejected != 6 {
		t.Fatalf("%d %+v", status, a)
	}
	want := map[int]string{1: "stored", 2: "missing text", 4: "malformed JSON", 5: "stored", 6: "subject token", 7: "over the limit", 8: "UTF-8", 9: "created_at"}
	if len(a.Results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(a.Results), len(want), a.Results)
	}
	for _, res := range a.Results {
		w := want[res.Line]
		if w == "stored" {
			if res.Status != "stored" || res.ID == "" {
				t.Errorf("line %d: %+v", res.Line, res)
			}
			continue
		}
		if res.Status != "rejected" || !strings.Contains(res.Error, w) {
			t.Errorf("line %d: %+v, want rejected for %q", res.Line, res, w)
		}
	}
	if keys := r.pub.Keys(); len(keys) != 2 || keys[0] != "weibo:1" || keys[1] != "weibo:4" {
		t.Errorf("published %v", keys)
	}
}

func TestJSONForms(t *testing.T) {
	r := start(t, nil, nil)
	if status, a := r.post(t, "application/json", "Bearer "+token, []byte("["+good("1")+","+good("2")+"]")); status != 202 || a.Accepted != 2 {
		t.Errorf("array: %d %+v", status, a)
	}
	if status, a := r.post(t, "application/json; charset=utf-8", "bearer "+token, []byte(good("3"))); status != 202 || a.Accepted != 1 {
		t.Errorf("object: %d %+v", status, a)
	}
	if status, _ := r.post(t, "application/json", "Bearer "+token, []byte("[1,")); status != 400 {
		t.Errorf("broken array: %d", status)
	}
	if status, a := r.post(t, "application/json", "Bearer "+token, []byte(`[{"id":"x"}]`)); status != 422 || a.Rejected != 1 {
		t.Errorf("nothing valid: %d %+v", status, a)
	}
	if status, _ := r.post(t, "application/x-ndjson", "Bearer "+token, []byte("  \n ")); status != 400 {
		t.Errorf("empty body: %d", status)
	}
}

func TestAuth(t *testing.T) {
	r := start(t, nil, nil)
	for _, auth := range []string{"", "Bearer", "Bearer wrong-token-0123456789abcdef", "Basic " + token, token, "Bearer " + token + "x"} {
		if status, _ := r.post(t, "application/x-ndjson", auth, []byte(good("1"))); status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d", auth, status)
		}
	}
	if len(r.pub.Posts()) != 0 {
		t.Error("published without a valid token")
	}
	if n := kittest.Counter(r.reg, "iwom_connector_errors_total", map[string]string{"kind": "auth"}); n != 6 {
		t.Errorf("auth errors %v", n)
	}
	if status, _ := r.post(t, "application/x-ndjson", "Bearer other-token-0123456789abcdef", []byte(good("1"))); status != 202 {
		t.Errorf("second token: %d", status)
	}
}

func TestTokensFromEnv(t *testing.T) {
	t.Setenv("IWOM_TEST_INGEST_TOKENS", " env-token-0123456789abcdef , ")
	r := start(t, func(c *Config) { c.Tokens, c.TokensEnv = nil, "IWOM_TEST_INGEST_TOKENS" }, nil)
	if status, _ := r.post(t, "application/x-ndjson", "Bearer env-token-0123456789abcdef", []byte(good("1"))); status != 202 {
		t.Errorf("token from the environment: %d", status)
	}
}

func TestLimits(t *testing.T) {
	r := start(t, func(c *Config) { c.MaxBody = 2048; c.MaxLines = 3 }, nil)
	big := bytes.Repeat([]byte(good("1")+"\n"), 20)
	if status, _ := r.post(t, "application/x-ndjson", "Bearer "+token, big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", status)
	}
	four := []byte(strings.Repeat(good("1")+"\n", 4))
	if status, _ := r.post(t, "application/x-ndjson", "Bearer "+token, four); status != http.StatusRequestEntityTooLarge {
		t.Errorf("too many lines: %d", status)
	}
	if len(r.pub.Posts()) != 0 {
		t.Error("published from a refused request")
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{{http.MethodGet, Path, 405}, {http.MethodPost, "/v2/posts", 404}} {
		req, _ := http.NewRequest(c.method, strings.Replace(r.url, Path, c.path, 1), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != c.status {
			t.Errorf("%s %s: %v %v", c.method, c.path, resp, err)
		}
	}
}

// TestAcceptedOnlyAfterAck: the answer waits for JetStream; when the
// acknowledgement does not come, the client gets 503 and retries.
func TestAcceptedOnlyAfterAck(t *testing.T) {
	release := make(chan struct{})
	fail := make(chan struct{})
	pub := &kittest.Publisher{FlushHook: func(ctx context.Context) error {
		select {
		case <-fail:
			return errors.New("nats: timeout")
		default:
		}
		select {
		case <-fail:
			return errors.New("nats: timeout")
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := start(t, nil, pub)
	answered := make(chan int, 1)
	go func() {
		status, _ := r.post(t, "application/x-ndjson", "Bearer "+token, []byte(good("1")))
		answered <- status
	}()
	select {
	case s := <-answered:
		t.Fatalf("answered %d before JetStream acknowledged", s)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if s := <-answered; s != 202 {
		t.Errorf("after the ack: %d", s)
	}
	close(fail)
	if status, a := r.post(t, "application/x-ndjson", "Bearer "+token, []byte(good("2"))); status != 503 || a.Error == "" {
		t.Errorf("without an ack: %d %+v", status, a)
	}
	pub.SetFlushHook(nil)
	if err := r.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// An 8 MB array of four million tiny elements is refused at the 10,001st,
// as it streams in: it used to be decoded whole first (860 MB of RSS).
func TestHugeArrayBoundedMemory(t *testing.T) {
	r := start(t, nil, nil)
	body := append([]byte("["), bytes.Repeat([]byte("0,"), 4<<20)...)
	body = append(body[:len(body)-1], ']')
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	status, a := r.post(t, "application/json", "Bearer "+token, body)
	runtime.ReadMemStats(&after)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(a.Error, "more than the 10000") {
		t.Fatalf("%d %+v", status, a)
	}
	grew := after.TotalAlloc - before.TotalAlloc
	if grew > 64<<20 {
		t.Errorf("the refused request allocated %d MB", grew>>20)
	}
	t.Logf("an 8 MB array of 4M elements refused after allocating %.1f MB", float64(grew)/(1<<20))
}

// Requests beyond max_concurrent, or beyond max_inflight bytes, get 503 at
// once instead of queueing without bound.
func TestConcurrencyCap(t *testing.T) {
	release := make(chan struct{})
	pub := &kittest.Publisher{FlushHook: func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := start(t, func(c *Config) { c.MaxConcurrent = 2 }, pub)
	held := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			status, _ := r.post(t, "application/x-ndjson", "Bearer "+token, []byte(good("1")))
			held <- status
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		r.c.gate.mu.Lock()
		n := r.c.gate.n
		r.c.gate.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight, want 2", n)
		}
	}
	if status, a := r.post(t, "application/x-ndjson", "Bearer "+token, []byte(good("2"))); status != http.StatusServiceUnavailable || !strings.Contains(a.Error, "too many requests") {
		t.Errorf("third request: %d %+v, want 503 while two are in flight", status, a)
	}
	close(release)
	for i := 0; i < 2; i++ {
		if s := <-held; s != http.StatusAccepted {
			t.Errorf("held request: %d", s)
		}
	}
}

// Duplicates are counted as such, and every refused line is dead-lettered
// with its number; a too-large post is 413 when nothing else was valid.
func TestDuplicatesAndRefusals(t *testing.T) {
	r := start(t, nil, nil)
	status, a := r.post(t, "application/x-ndjson", "Bearer "+token, []byte(good("1")+"\n"+good("1")+"\n"+`{"platform":"weibo"}`))
	if status != http.StatusAccepted || a.Accepted != 2 || a.Duplicates != 1 || a.Rejected != 1 || a.Results[1].Status != StatusDuplicate {
		t.Fatalf("%d %+v", status, a)
	}
	if rej := r.pub.Rejected(); len(rej) != 1 || rej[0].Line != 3 {
		t.Errorf("dead letters %+v, want line 3", rej)
	}
	big := `{"platform":"weibo","id":"u","text":"x","created_at":"2026-06-28T02:30:00Z","url":"http://x/` + strings.Repeat("a", 5000) + `"}`
	if status, a := r.post(t, "application/x-ndjson", "Bearer "+token, []byte(big)); status != http.StatusUnprocessableEntity || a.Rejected != 1 || !strings.Contains(a.Results[0].Error, "url is") {
		t.Errorf("oversized url: %d %+v", status, a)
	}
}
