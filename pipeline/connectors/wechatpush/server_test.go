package wechatpush

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/connectors/kit/kittest"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/test/fakeplatform"
)

var postLimits = post.Limits{MaxTextBytes: 65536}

const appID = "wx00000000fa4e0001"

type rig struct {
	c      *Connector
	pub    *kittest.Publisher
	reg    *prometheus.Registry
	pusher *fakeplatform.Pusher
	stop   func() error
}

func start(t *testing.T, tweak func(*Config), pub *kittest.Publisher) *rig {
	t.Helper()
	return startAt(t, tweak, pub, nil)
}

// compatible configures compatible mode: plaintext and encrypted bodies.
func compatible(c *Config) { c.Mode = ModeCompatible }

// startAt starts a receiver whose clock (and its pusher's) is now (nil:
// time.Now).
func startAt(t *testing.T, tweak func(*Config), pub *kittest.Publisher, now func() time.Time) *rig {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Name = "push-test"
	cfg.Listen = "127.0.0.1:0"
	cfg.Token = fakeplatform.PushToken
	cfg.EncodingAESKey = fakeplatform.PushAESKey
	cfg.AppID = appID
	cfg.ShutdownTimeout = 5 * time.Second
	if tweak != nil {
		tweak(&cfg)
	}
	reg := prometheus.NewRegistry()
	c, err := New(cfg, kit.Env{Metrics: kit.NewMetrics(reg), Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if pub == nil {
		pub = &kittest.Publisher{Limits: postLimits}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, pub) }()
	for c.Addr() == "" || c.Ready() != nil {
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("Run did not return")
		}
	}
	t.Cleanup(func() { _ = stop() })
	p := &fakeplatform.Pusher{URL: "http://" + c.Addr() + "/", Token: cfg.Token, EncodingAESKey: fakeplatform.PushAESKey, AppID: appID, Now: now}
	return &rig{c: c, pub: pub, reg: reg, pusher: p, stop: stop}
}

func (r *rig) errors(kind string) float64 {
	return kittest.Counter(r.reg, "iwom_connector_errors_total", map[string]string{"kind": kind})
}

func msg(i int64, text string) fakeplatform.PushMessage {
	return fakeplatform.PushMessage{ToUserName: "gh_fa4e00000001", FromUserName: "oUser" + string(rune('a'+i%26)), CreateTime: 1_780_000_000 + i,
		MsgType: "text", Content: text, MsgID: 24_000_000_000_000_000 + i}
}

func TestVerification(t *testing.T) {
	r := start(t, nil, nil)
	ctx := context.Background()
	if status, body, err := r.pusher.Verify(ctx, "echo-123", fakeplatform.Tamper{}); err != nil || status != 200 || body != "echo-123" {
		t.Errorf("verification: %d %q %v", status, body, err)
	}
	if status, body, _ := r.pusher.Verify(ctx, "echo-123", fakeplatform.Tamper{BadSignature: true}); status != 403 || strings.Contains(body, "echo") {
		t.Errorf("bad signature: %d %q", status, body)
	}
	if status, _, _ := r.pusher.Verify(ctx, "echo-123", fakeplatform.Tamper{Timestamp: time.Now().Add(-time.Hour)}); status != 403 {
		t.Errorf("stale timestamp: %d", status)
	}
}

// TestModes: a text message in each mode is answered "success" (by a
// receiver in compatible mode) and published as a post of kind message.
func TestModes(t *testing.T) {
	r := start(t, compatible, nil)
	for i, mode := range []fakeplatform.Mode{fakeplatform.Plain, fakeplatform.Compatible, fakeplatform.Safe} {
		m := msg(int64(i), "西门子的冰箱门又坏了[怒] <b>&amp;</b> ]]>")
		status, body, err := r.pusher.Send(context.Background(), m, mode, fakeplatform.Tamper{})
		if err != nil || status != 200 || body != "success" {
			t.Fatalf("%s: %d %q %v", mode, status, body, err)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	posts := r.pub.Posts()
	if len(posts) != 3 {
		t.Fatalf("published %d posts, want 3", len(posts))
	}
	for i, p := range posts {
		m := msg(int64(i), "")
		if p.Platform != "wechat" || p.Kind != "message" || p.Key() != m.Key() || p.Text != "西门子的冰箱门又坏了[怒] <b>&amp;</b> ]]>" ||
			p.Author.ID != m.FromUserName || !p.CreatedAt.Equal(time.Unix(m.CreateTime, 0)) {
			t.Errorf("post %d: %+v", i, p)
		}
	}
}

// TestRejections: what WeChat would never send is refused with a 4xx and
// nothing is published or dead-lettered.
func TestRejections(t *testing.T) {
	r := start(t, func(c *Config) { c.MaxBody = 2048; c.Mode = ModeCompatible }, nil)
	ctx := context.Background()
	m := msg(1, "hello")
	cases := []struct {
		name   string
		mode   fakeplatform.Mode
		tamper fakeplatform.Tamper
		status int
		kind   string
	}{
		{"wrong signature", fakeplatform.Plain, fakeplatform.Tamper{BadSignature: true}, 403, "signature"},
		{"wrong signature, safe mode", fakeplatform.Safe, fakeplatform.Tamper{BadSignature: true}, 403, "signature"},
		{"wrong msg_signature", fakeplatform.Safe, fakeplatform.Tamper{BadMsgSignature: true}, 403, "signature"},
		{"wrong msg_signature, compatible", fakeplatform.Compatible, fakeplatform.Tamper{BadMsgSignature: true}, 403, "signature"},
		{"replayed timestamp", fakeplatform.Plain, fakeplatform.Tamper{Timestamp: time.Now().Add(-10 * time.Minute)}, 403, "timestamp"},
		{"future timestamp", fakeplatform.Safe, fakeplatform.Tamper{Timestamp: time.Now().Add(10 * time.Minute)}, 403, "timestamp"},
		{"bad padding", fakeplatform.Safe, fakeplatform.Tamper{BadPadding: true}, 400, "decrypt"},
		{"wrong appid", fakeplatform.Safe, fakeplatform.Tamper{AppID: "wx0000000000000bad"}, 403, "appid"},
		{"oversized body", fakeplatform.Plain, fakeplatform.Tamper{Body: bytes.Repeat([]byte("<xml>"), 1000)}, 413, "too_large"},
		{"encrypted, envelope not XML", fakeplatform.Safe, fakeplatform.Tamper{Body: []byte("<xml><Encrypt>")}, 400, "malformed"},
		{"encrypted, no Encrypt element", fakeplatform.Safe, fakeplatform.Tamper{Body: []byte("<xml><ToUserName>gh</ToUserName></xml>")}, 400, "malformed"},
	}
	for _, c := range cases {
		status, body, err := r.pusher.Send(ctx, m, c.mode, c.tamper)
		if err != nil || status != c.status {
			t.Errorf("%s: %d %q %v, want %d", c.name, status, body, err, c.status)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, r.pusher.URL, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("PUT: %v %v", resp, err)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.pub.Posts()); n != 0 {
		t.Errorf("published %d posts from refused requests", n)
	}
	if n := len(r.pub.Rejected()); n != 0 {
		t.Errorf("dead-lettered %d refused requests", n)
	}
	for _, kind := range []string{"signature", "timestamp", "decrypt", "appid", "too_large", "malformed"} {
		if r.errors(kind) == 0 {
			t.Errorf("no %s error counted", kind)
		}
	}
}

func TestPlainOnlyRefusesEncrypted(t *testing.T) {
	r := start(t, func(c *Config) { c.EncodingAESKey = "" }, nil)
	if status, _, _ := r.pusher.Send(context.Background(), msg(1, "x"), fakeplatform.Safe, fakeplatform.Tamper{}); status != 400 {
		t.Errorf("encrypted message without a key: %d, want 400", status)
	}
	if status, body, _ := r.pusher.Send(context.Background(), msg(2, "x"), fakeplatform.Plain, fakeplatform.Tamper{}); status != 200 || body != "success" {
		t.Errorf("plain message: %d %q", status, body)
	}
}

func TestTimestampWindowOff(t *testing.T) {
	r := start(t, func(c *Config) { c.TimestampWindow = 0 }, nil)
	old := fakeplatform.Tamper{Timestamp: time.Date(2014, 9, 2, 0, 0, 0, 0, time.UTC)}
	if status, body, _ := r.pusher.Send(context.Background(), msg(1, "recorded"), fakeplatform.Safe, old); status != 200 || body != "success" {
		t.Errorf("replaying a recorded call: %d %q", status, body)
	}
}

// TestRetriesDeduplicated: WeChat's retries of a message, and of an event,
// are answered "success" and published once.
func TestRetriesDeduplicated(t *testing.T) {
	r := start(t, compatible, nil)
	ctx := context.Background()
	m := msg(7, "重复")
	ev := fakeplatform.PushMessage{ToUserName: "gh_fa4e00000001", FromUserName: "oX", CreateTime: 1_780_000_000, MsgType: "event", Event: "subscribe"}
	for i := range 4 {
		for _, x := range []fakeplatform.PushMessage{m, ev} {
			if status, body, _ := r.pusher.Send(ctx, x, fakeplatform.Mode(i%3), fakeplatform.Tamper{}); status != 200 || body != "success" {
				t.Fatalf("attempt %d: %d %q", i, status, body)
			}
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.pub.Posts()); n != 1 {
		t.Errorf("published %d posts, want the message once (events carry no words)", n)
	}
	if n := kittest.Counter(r.reg, "iwom_connector_posts_total", map[string]string{"outcome": "deduplicated"}); n != 6 {
		t.Errorf("deduplicated %v, want 6", n)
	}
	if n := kittest.Counter(r.reg, "iwom_connector_fetched_total", nil); n != 8 {
		t.Errorf("fetched %v, want 8", n)
	}
}

// TestShutdownFinishesRequests: at SIGTERM the requests being stored
// finish before Run returns, and every message answered "success" is
// stored.
func TestShutdownFinishesRequests(t *testing.T) {
	pub := &kittest.Publisher{Limits: postLimits, FlushHook: func(ctx context.Context) error {
		select {
		case <-time.After(20 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := start(t, nil, pub)
	var mu sync.Mutex
	var answered []string
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := msg(int64(i), "最后")
			status, body, _ := r.pusher.Send(context.Background(), m, fakeplatform.Safe, fakeplatform.Tamper{})
			if status == 200 && body == "success" {
				mu.Lock()
				answered = append(answered, m.Key())
				mu.Unlock()
			}
		}()
	}
	time.Sleep(30 * time.Millisecond)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	stored := r.pub.ByKey()
	for _, k := range answered {
		if stored[k] == nil {
			t.Errorf("%s answered success but not stored", k)
		}
	}
	if len(answered) == 0 {
		t.Error("nothing answered before shutdown")
	}
	if err := r.c.Ready(); err == nil {
		t.Error("ready after Run returned")
	}
}

// TestNATSFailureRetried: while NATS fails the receiver answers 503 and
// says it is not ready; WeChat's retry is stored once NATS answers again.
func TestNATSFailureRetried(t *testing.T) {
	var mu sync.Mutex
	failures := 3
	pub := &kittest.Publisher{Limits: postLimits, FlushHook: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return errors.New("nats: no responders available for request")
		}
		return nil
	}}
	r := start(t, nil, pub)
	if status, _, _ := r.pusher.Send(context.Background(), msg(1, "x"), fakeplatform.Safe, fakeplatform.Tamper{}); status != 503 {
		t.Fatalf("push while NATS fails: %d, want 503", status)
	}
	if r.c.Ready() == nil {
		t.Error("ready while NATS fails")
	}
	r.pusher.Retries = 3
	if status, body, _ := r.pusher.Push(context.Background(), msg(1, "x"), fakeplatform.Safe); status != 200 || body != "success" {
		t.Fatalf("WeChat's retries: %d %q", status, body)
	}
	if err := r.c.Ready(); err != nil {
		t.Errorf("not ready after a message was stored: %v", err)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.pub.Keys()); n != 1 {
		t.Errorf("published %d posts, want 1", n)
	}
}
