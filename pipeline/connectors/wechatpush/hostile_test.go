package wechatpush

// Regression tests of issue 13, "hostile input": what a correctly signed
// but hostile (or broken) push does to the receiver.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
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

// rejectedMentioning returns the dead letters whose reason contains s.
func rejectedMentioning(pub *kittest.Publisher, s string) []kittest.Rejection {
	var out []kittest.Rejection
	for _, r := range pub.Rejected() {
		if r.Reason != nil && strings.Contains(r.Reason.Error(), s) {
			out = append(out, r)
		}
	}
	return out
}

// TestIssue13HugeCreateTimeThenMore: a correctly signed message with
// CreateTime 2^40−1 was answered "success", failed JSON encoding and
// blocked the queue; the messages after it were answered "success" and
// lost at shutdown. Now it is dead-lettered before "success", and each
// later message is stored before its "success".
func TestHugeCreateTimeThenMore(t *testing.T) {
	r := start(t, nil, nil)
	ctx := context.Background()
	bad := msg(0, "来自未来")
	bad.CreateTime = 1<<40 - 1
	if status, body, err := r.pusher.Send(ctx, bad, fakeplatform.Safe, fakeplatform.Tamper{}); err != nil || status != 200 || body != "success" {
		t.Fatalf("huge CreateTime: %d %q %v, want success (dead-lettered: WeChat must not retry it)", status, body, err)
	}
	dl := rejectedMentioning(r.pub, "CreateTime 1099511627775")
	if len(dl) != 1 || !strings.Contains(string(dl[0].Payload), "<CreateTime>1099511627775</CreateTime>") || !errors.Is(dl[0].Reason, post.ErrInvalid) {
		t.Fatalf("huge CreateTime answered success but not dead-lettered with the message and its reason: %+v", r.pub.Rejected())
	}
	for i := int64(1); i <= 6; i++ {
		m := msg(i, "后来的消息")
		if status, body, err := r.pusher.Send(ctx, m, fakeplatform.Safe, fakeplatform.Tamper{}); err != nil || status != 200 || body != "success" {
			t.Fatalf("message %d: %d %q %v", i, status, body, err)
		}
		// Answered "success": stored already, not merely queued.
		if r.pub.ByKey()[m.Key()] == nil {
			t.Fatalf("message %d answered success before it was stored", i)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.pub.Keys()); n != 6 {
		t.Errorf("stored %d posts, want the 6 valid ones", n)
	}
}

// TestIssue13AcceptedMeansStored: "success" only after the publisher
// reports the post stored; a transient failure or a store that does not
// answer within store_timeout is a 503, so that WeChat retries.
func TestAcceptedMeansStored(t *testing.T) {
	var mu sync.Mutex
	mode := "fail"
	pub := &kittest.Publisher{Limits: postLimits, FlushHook: func(ctx context.Context) error {
		mu.Lock()
		m := mode
		mu.Unlock()
		switch m {
		case "fail":
			return errors.New("nats: timeout")
		case "hang":
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}}
	r := start(t, func(c *Config) { c.StoreTimeout = 300 * time.Millisecond }, pub)
	ctx := context.Background()
	set := func(m string) {
		mu.Lock()
		mode = m
		mu.Unlock()
	}

	if status, body, _ := r.pusher.Send(ctx, msg(1, "失败"), fakeplatform.Safe, fakeplatform.Tamper{}); status != http.StatusServiceUnavailable {
		t.Errorf("store failed: %d %q, want 503", status, body)
	}
	if r.c.Ready() == nil {
		t.Error("ready while stores fail")
	}

	set("hang")
	t0 := time.Now()
	status, body, _ := r.pusher.Send(ctx, msg(2, "没有回答"), fakeplatform.Safe, fakeplatform.Tamper{})
	if d := time.Since(t0); status != http.StatusServiceUnavailable || d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("store without an answer: %d %q after %v, want 503 after store_timeout (300ms)", status, body, d)
	}
	if n := len(r.pub.Posts()); n != 0 {
		t.Fatalf("%d posts stored while the store failed", n)
	}

	set("ok")
	for i := int64(1); i <= 2; i++ {
		if status, body, _ := r.pusher.Send(ctx, msg(i, "重试"), fakeplatform.Safe, fakeplatform.Tamper{}); status != 200 || body != "success" {
			t.Errorf("WeChat's retry of %d: %d %q", i, status, body)
		}
	}
	if err := r.c.Ready(); err != nil {
		t.Errorf("not ready once stores work: %v", err)
	}
	if n := kittest.Counter(r.reg, "iwom_connector_errors_total", map[string]string{"kind": "overloaded"}); n != 2 {
		t.Errorf("counted %v overloaded errors, want 2", n)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.pub.Keys()); n != 2 {
		t.Errorf("stored %d posts, want 2", n)
	}
}

// TestIssue13InvalidPostDeadLettered: a post the publisher refuses (here:
// longer than its text limit) is dead-lettered by Store and answered
// "success"; WeChat's retry of it is answered "success" too.
func TestInvalidPostDeadLettered(t *testing.T) {
	r := start(t, nil, &kittest.Publisher{Limits: post.Limits{MaxTextBytes: 16}})
	m := msg(1, strings.Repeat("长", 20))
	for range 2 {
		if status, body, _ := r.pusher.Send(context.Background(), m, fakeplatform.Safe, fakeplatform.Tamper{}); status != 200 || body != "success" {
			t.Fatalf("invalid post: %d %q", status, body)
		}
	}
	if n := len(rejectedMentioning(r.pub, "over the limit of 16")); n != 1 {
		t.Errorf("dead-lettered %d times, want once: %+v", n, r.pub.Rejected())
	}
	if n := len(r.pub.Posts()); n != 0 {
		t.Errorf("stored %d posts", n)
	}
}

// TestIssue13UnmappableDeadLettered: a correctly signed body that is not a
// WeChat message is dead-lettered with the body and its reason, and
// answered "success"; when dead-lettering fails the answer is a 503.
func TestUnmappableDeadLettered(t *testing.T) {
	r := start(t, compatible, nil)
	ctx := context.Background()
	for _, body := range []string{"hello", "<xml><MsgType>text</MsgType></xml>", "<xml><MsgType>text</MsgType><FromUserName>o</FromUserName><CreateTime>1780000000</CreateTime><MsgId>a b</MsgId><Content>x</Content></xml>"} {
		status, answer, _ := r.pusher.Send(ctx, msg(1, "x"), fakeplatform.Plain, fakeplatform.Tamper{Body: []byte(body)})
		if status != 200 || answer != "success" {
			t.Errorf("%q: %d %q, want success", body, status, answer)
		}
	}
	rej := r.pub.Rejected()
	if len(rej) != 3 {
		t.Fatalf("dead-lettered %d, want 3", len(rej))
	}
	for _, x := range rej {
		if len(x.Payload) == 0 || !errors.Is(x.Reason, post.ErrInvalid) && !errors.Is(x.Reason, ErrMalformed) {
			t.Errorf("dead letter without its body or reason: %q %v", x.Payload, x.Reason)
		}
	}
	if n := kittest.Counter(r.reg, "iwom_connector_posts_total", map[string]string{"outcome": "invalid"}); n != 3 {
		t.Errorf("counted %v invalid, want 3", n)
	}
}

// failingReject is a publisher whose dead-letter queue is down.
type failingReject struct{ *kittest.Publisher }

func (failingReject) Reject(context.Context, int, []byte, error) error {
	return errors.New("nats: no responders available for request")
}

func testEnv(t *testing.T) kit.Env {
	return kit.Env{Metrics: kit.NewMetrics(prometheus.NewRegistry()), Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)}
}

// TestIssue13DeadLetterFailureIs503: a message that cannot be mapped is
// answered "success" only once dead-lettered; when the dead-letter queue
// fails, WeChat gets a 503 and retries.
func TestDeadLetterFailureIs503(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name, cfg.Listen, cfg.Token, cfg.Mode = "push-test", "127.0.0.1:0", fakeplatform.PushToken, ModePlain
	c, err := New(cfg, testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, failingReject{&kittest.Publisher{Limits: postLimits}}) }()
	defer func() { cancel(); <-done }()
	for c.Addr() == "" {
		time.Sleep(2 * time.Millisecond)
	}
	p := &fakeplatform.Pusher{URL: "http://" + c.Addr() + "/", Token: cfg.Token}
	if status, body, _ := p.Send(context.Background(), msg(1, "x"), fakeplatform.Plain, fakeplatform.Tamper{Body: []byte("hello")}); status != 503 {
		t.Errorf("dead-lettering failed: %d %q, want 503 (WeChat retries)", status, body)
	}
}

// TestIssue13CreateTimeEdges: a CreateTime a post cannot hold yields an
// invalid message, dead-lettered and answered "success"; one the post can
// hold but the publisher refuses (too far ahead of the clock) is
// dead-lettered by Store; nothing panics or fails to encode.
func TestCreateTimeEdges(t *testing.T) {
	now := time.Now()
	pub := &kittest.Publisher{Limits: post.Limits{MaxTextBytes: 65536, MaxFutureSkew: 15 * time.Minute}}
	r := start(t, nil, pub)
	cases := []struct {
		ct     int64
		stored bool
		reason string // in the dead letter's reason
	}{
		{0, false, "CreateTime 0 is outside"},
		{1, false, "CreateTime 1 is outside"},
		{-1, false, "CreateTime -1 is outside"},
		{math.MaxInt32, false, "ahead of the server clock"},
		{math.MaxUint32, false, "CreateTime 4294967295 is outside"},
		{1<<40 - 1, false, "CreateTime 1099511627775 is outside"},
		{math.MaxInt64, false, "CreateTime 9223372036854775807 is outside"},
		{math.MinInt64, false, "CreateTime -9223372036854775808 is outside"},
		{now.Add(time.Hour).Unix(), false, "ahead of the server clock"},
		{post.MinCreatedAt.Unix(), true, ""},
		{now.Add(-time.Hour).Unix(), true, ""},
		{now.Unix(), true, ""},
	}
	for i, c := range cases {
		m := msg(int64(i), "时间")
		m.CreateTime = c.ct
		status, body, err := r.pusher.Send(context.Background(), m, fakeplatform.Safe, fakeplatform.Tamper{})
		if err != nil || status != 200 || body != "success" {
			t.Errorf("CreateTime %d: %d %q %v, want success", c.ct, status, body, err)
			continue
		}
		stored := r.pub.ByKey()[m.Key()] != nil
		if stored != c.stored {
			t.Errorf("CreateTime %d: stored %v, want %v", c.ct, stored, c.stored)
		}
		if !c.stored && len(rejectedMentioning(r.pub, c.reason)) == 0 {
			t.Errorf("CreateTime %d: no dead letter saying %q: %v", c.ct, c.reason, r.pub.Rejected())
		}
	}
}

// TestCreatedRange: Created and Post map CreateTime within the range a
// post holds, and refuse the rest with errors wrapping post.ErrInvalid.
func TestCreatedRange(t *testing.T) {
	for _, ct := range []string{"0", "1", "-1", "86399", "86400", "2147483647", "4294967295", "1099511627775",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e9", " 1780000000 ", "", "0x10",
		strconv.FormatInt(post.MaxCreatedAt.Unix(), 10), strconv.FormatInt(post.MaxCreatedAt.Unix()+1, 10)} {
		m := &Message{FromUserName: "o", CreateTime: ct, MsgType: "text", Content: "x", MsgID: "1"}
		p, err := m.Post()
		if err != nil {
			if !errors.Is(err, post.ErrInvalid) || !errors.Is(err, ErrMalformed) {
				t.Errorf("CreateTime %q: error %v does not wrap post.ErrInvalid and ErrMalformed", ct, err)
			}
			continue
		}
		if err := p.Validate(post.Limits{}); err != nil {
			t.Errorf("CreateTime %q: invalid post: %v", ct, err)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Errorf("CreateTime %q: encoding: %v", ct, err)
		}
	}
	for ct, ok := range map[string]bool{"86399": false, "86400": true, "2147483647": true, "4294967295": false,
		strconv.FormatInt(post.MaxCreatedAt.Unix(), 10): true, strconv.FormatInt(post.MaxCreatedAt.Unix()+1, 10): false} {
		m := &Message{CreateTime: ct}
		if _, err := m.Created(); (err == nil) != ok {
			t.Errorf("CreateTime %s: %v, want ok=%v", ct, err, ok)
		}
	}
}

// TestIssue13SafeModeRefusesPlaintext: with an encoding_aes_key and no
// mode, or mode safe, a plaintext body is refused (403) and nothing is
// stored or dead-lettered; mode compatible takes both.
func TestSafeModeRefusesPlaintext(t *testing.T) {
	for _, mode := range []string{"", ModeSafe} {
		t.Run("mode="+mode, func(t *testing.T) {
			r := start(t, func(c *Config) { c.Mode = mode }, nil)
			ctx := context.Background()
			if status, body, _ := r.pusher.Send(ctx, msg(1, "明文"), fakeplatform.Plain, fakeplatform.Tamper{}); status != http.StatusForbidden {
				t.Errorf("plaintext in safe mode: %d %q, want 403", status, body)
			}
			// A plaintext body dressed as compatible mode without
			// encrypt_type is plaintext too.
			if status, _, _ := r.pusher.Send(ctx, msg(2, "明文"), fakeplatform.Plain, fakeplatform.Tamper{Body: msg(2, "伪造").XML()}); status != http.StatusForbidden {
				t.Errorf("plaintext body: %d, want 403", status)
			}
			for i, m := range []fakeplatform.Mode{fakeplatform.Safe, fakeplatform.Compatible} {
				if status, body, _ := r.pusher.Send(ctx, msg(int64(10+i), "密文"), m, fakeplatform.Tamper{}); status != 200 || body != "success" {
					t.Errorf("%s body: %d %q", m, status, body)
				}
			}
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			if got := r.pub.Keys(); len(got) != 2 || len(r.pub.Rejected()) != 0 {
				t.Errorf("stored %v, dead-lettered %d: want the two encrypted messages only", got, len(r.pub.Rejected()))
			}
			if r.errors("mode") != 2 {
				t.Errorf("mode errors %v, want 2", r.errors("mode"))
			}
		})
	}
	t.Run("compatible", func(t *testing.T) {
		r := start(t, compatible, nil)
		for i, m := range []fakeplatform.Mode{fakeplatform.Plain, fakeplatform.Compatible, fakeplatform.Safe} {
			if status, body, _ := r.pusher.Send(context.Background(), msg(int64(i), "兼容"), m, fakeplatform.Tamper{}); status != 200 || body != "success" {
				t.Errorf("%s: %d %q", m, status, body)
			}
		}
	})
}

func TestModeConfig(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Token, c.EncodingAESKey, c.AppID = "t", fakeplatform.PushAESKey, appID
		return c
	}
	for _, tc := range []struct {
		tweak func(*Config)
		want  string // error prefix; "" valid
		mode  string
	}{
		{func(*Config) {}, "", ModeSafe},
		{func(c *Config) { c.EncodingAESKey, c.AppID = "", "" }, "", ModePlain},
		{func(c *Config) { c.Mode = ModeCompatible }, "", ModeCompatible},
		{func(c *Config) { c.Mode = ModePlain }, "mode: plain takes no encoding_aes_key", ""},
		{func(c *Config) { c.Mode, c.EncodingAESKey = ModeSafe, "" }, "mode: safe needs encoding_aes_key", ""},
		{func(c *Config) { c.Mode, c.EncodingAESKey = ModeCompatible, "" }, "mode: compatible needs encoding_aes_key", ""},
		{func(c *Config) { c.Mode = "aes" }, `mode: "aes" is not safe, compatible or plain`, ""},
		{func(c *Config) { c.StoreTimeout = 5 * time.Second }, "store_timeout:", ""},
		{func(c *Config) { c.StoreTimeout = 0 }, "store_timeout:", ""},
		{func(c *Config) { c.MaxInFlight = 0 }, "max_in_flight:", ""},
		{func(c *Config) { c.MaxNonces = 0 }, "max_nonces:", ""},
		{func(c *Config) { c.MaxDedupKeys = 0 }, "max_dedup_keys:", ""},
	} {
		c := base()
		tc.tweak(&c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", c, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", c, err, tc.want)
		case tc.want == "" && c.EffectiveMode() != tc.mode:
			t.Errorf("%+v: mode %s, want %s", c, c.EffectiveMode(), tc.mode)
		}
	}
}

// TestIssue13NonceReplay: a (timestamp, nonce) pair is taken once within
// the window, whatever the body; a pair whose request got a 503 is taken
// again (WeChat's retry); once out of the window the pair is forgotten
// (and refused by the timestamp check).
func TestNonceReplay(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	fail := false
	pub := &kittest.Publisher{Limits: postLimits, FlushHook: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			return errors.New("nats: timeout")
		}
		return nil
	}}
	r := startAt(t, compatible, pub, now)
	ctx := context.Background()
	pair := fakeplatform.Tamper{Timestamp: now(), Nonce: "1372623149"}

	if status, body, _ := r.pusher.Send(ctx, msg(1, "第一次"), fakeplatform.Safe, pair); status != 200 || body != "success" {
		t.Fatalf("first use: %d %q", status, body)
	}
	// Replays: the same request, and the pair with another (plaintext)
	// body, which no signature covers.
	if status, body, _ := r.pusher.Send(ctx, msg(1, "第一次"), fakeplatform.Safe, pair); status != http.StatusForbidden {
		t.Errorf("replayed request: %d %q, want 403", status, body)
	}
	if status, body, _ := r.pusher.Send(ctx, msg(2, "伪造的内容"), fakeplatform.Plain, pair); status != http.StatusForbidden {
		t.Errorf("replayed pair with another body: %d %q, want 403", status, body)
	}
	if r.errors("replay") != 2 {
		t.Errorf("replay errors %v, want 2", r.errors("replay"))
	}
	// Another nonce, or another timestamp, is another request.
	if status, _, _ := r.pusher.Send(ctx, msg(3, "x"), fakeplatform.Plain, fakeplatform.Tamper{Timestamp: now(), Nonce: "1372623150"}); status != 200 {
		t.Errorf("another nonce: %d", status)
	}
	if status, _, _ := r.pusher.Send(ctx, msg(4, "x"), fakeplatform.Plain, fakeplatform.Tamper{Timestamp: now().Add(time.Second), Nonce: pair.Nonce}); status != 200 {
		t.Errorf("another timestamp: %d", status)
	}
	// A request answered 503 (not stored) releases its pair: WeChat's
	// retry is taken even if it carries the same pair.
	mu.Lock()
	fail = true
	mu.Unlock()
	retry := fakeplatform.Tamper{Timestamp: now(), Nonce: "1372623151"}
	if status, _, _ := r.pusher.Send(ctx, msg(5, "重试"), fakeplatform.Safe, retry); status != 503 {
		t.Errorf("store failing: %d, want 503", status)
	}
	if status, body, _ := r.pusher.Send(ctx, msg(5, "重试"), fakeplatform.Safe, retry); status != 200 || body != "success" {
		t.Errorf("retry with the same pair: %d %q", status, body)
	}
	if n := r.c.nonces.len(); n != 4 {
		t.Errorf("%d pairs remembered, want 4", n)
	}
	// Out of the window: refused as stale, and forgotten.
	mu.Lock()
	clock = clock.Add(r.c.cfg.TimestampWindow + 2*time.Second)
	mu.Unlock()
	if status, _, _ := r.pusher.Send(ctx, msg(2, "伪造的内容"), fakeplatform.Plain, pair); status != http.StatusForbidden {
		t.Errorf("stale pair: %d, want 403", status)
	}
	if status, _, _ := r.pusher.Send(ctx, msg(6, "新的"), fakeplatform.Plain, fakeplatform.Tamper{Nonce: pair.Nonce}); status != 200 {
		t.Errorf("the nonce with a new timestamp: %d", status)
	}
	if n := r.c.nonces.len(); n != 1 {
		t.Errorf("%d pairs remembered after the window, want 1", n)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if got := r.pub.Keys(); len(got) != 5 {
		t.Errorf("stored %v, want 5 posts", got)
	}
}

// TestIssue13NonceCacheFull: when max_nonces pairs are remembered, new
// messages get a 503 (WeChat retries), and pairs are refused, never
// forgotten, until they leave the window.
func TestNonceCacheFull(t *testing.T) {
	r := start(t, func(c *Config) { c.MaxNonces = 2 }, nil)
	ctx := context.Background()
	for i := range 2 {
		if status, _, _ := r.pusher.Send(ctx, msg(int64(i), "x"), fakeplatform.Safe, fakeplatform.Tamper{}); status != 200 {
			t.Fatalf("push %d: %d", i, status)
		}
	}
	if status, _, _ := r.pusher.Send(ctx, msg(2, "x"), fakeplatform.Safe, fakeplatform.Tamper{}); status != 503 {
		t.Errorf("cache full: %d, want 503", status)
	}
}

func TestNoncesBounded(t *testing.T) {
	at := time.Unix(1_780_000_000, 0)
	n := newNonces(3, func() time.Time { return at })
	exp := at.Add(time.Minute)
	for i := range 3 {
		if got := n.claim(fmt.Sprint(i), exp); got != nonceNew {
			t.Fatalf("claim %d: %v", i, got)
		}
	}
	if got := n.claim("0", exp); got != nonceReused {
		t.Errorf("reuse: %v", got)
	}
	if got := n.claim("3", exp); got != nonceFull {
		t.Errorf("full: %v", got)
	}
	// Released and claimed again, over and over: memory does not grow.
	for range 100 {
		n.release("2")
		n.claim("2", exp)
	}
	if len(n.exp) > 3 || len(n.seen) > 3 {
		t.Errorf("grew to %d heap entries, %d pairs", len(n.exp), len(n.seen))
	}
	at = exp.Add(time.Second)
	if got := n.claim("3", at.Add(time.Minute)); got != nonceNew || n.len() != 1 {
		t.Errorf("after expiry: %v, %d pairs", got, n.len())
	}
}

func TestDedupBounded(t *testing.T) {
	at := time.Unix(1_780_000_000, 0)
	d := newDedup(time.Minute, 2, func() time.Time { return at })
	for _, k := range []string{"a", "b", "c"} {
		if d.claim(k) != claimNew {
			t.Fatalf("%s: not new", k)
		}
		d.answered(k)
	}
	if d.len() != 2 {
		t.Errorf("%d keys remembered, want 2", d.len())
	}
	if d.claim("c") != claimDone || d.claim("b") != claimDone {
		t.Error("the newest keys are forgotten")
	}
	if d.claim("a") != claimNew {
		t.Error("the oldest key is still remembered")
	}
	if d.claim("a") != claimPending {
		t.Error("a key being handled is not pending")
	}
	d.release("a")
	at = at.Add(2 * time.Minute)
	if d.claim("c") != claimNew {
		t.Error("a key outlived the window")
	}
	// A long key takes no more room than a short one.
	long := strings.Repeat("x", 60<<10)
	d.claim(long)
	d.answered(long)
	for k := range d.done {
		if len(k) != 32 {
			t.Errorf("key of %d bytes", len(k))
		}
	}
}

// TestIssue13InFlightBounded: beyond max_in_flight requests the answer is
// a quick 503; the requests in flight complete.
func TestInFlightBounded(t *testing.T) {
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	pub := &kittest.Publisher{Limits: postLimits, FlushHook: func(ctx context.Context) error {
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := start(t, func(c *Config) { c.MaxInFlight = 2 }, pub)
	ctx := context.Background()
	results := make(chan int, 2)
	for i := range 2 {
		go func() {
			status, _, _ := r.pusher.Send(ctx, msg(int64(i), "慢"), fakeplatform.Safe, fakeplatform.Tamper{})
			results <- status
		}()
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the requests did not reach the publisher's Store")
		}
	}
	t0 := time.Now()
	status, _, _ := r.pusher.Send(ctx, msg(2, "第三个"), fakeplatform.Safe, fakeplatform.Tamper{})
	if d := time.Since(t0); status != 503 || d > 500*time.Millisecond {
		t.Errorf("third request: %d after %v, want a quick 503", status, d)
	}
	close(release)
	for range 2 {
		if s := <-results; s != 200 {
			t.Errorf("request in flight: %d", s)
		}
	}
	if status, _, _ := r.pusher.Send(ctx, msg(2, "第三个"), fakeplatform.Safe, fakeplatform.Tamper{}); status != 200 {
		t.Errorf("retry once there is room: %d", status)
	}
}

// Hostile XML: entity expansion (billion laughs), external entities (XXE)
// and deep nesting. encoding/xml expands no entity beyond the five
// predefined ones and reads no DTD, so each is a parse error, fast and
// small; through the receiver each is dead-lettered.
var hostileXML = map[string]string{
	"billion laughs": `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1780000000</CreateTime><MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>`,
	"XXE file":       `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1780000000</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>`,
	"XXE URL":        `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "http://127.0.0.1:1/x">]><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1780000000</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>3</MsgId></xml>`,
	"deep nesting":   "<xml>" + strings.Repeat("<a>", 8000) + strings.Repeat("</a>", 8000) + "</xml>",
}

func TestHostileXML(t *testing.T) {
	for name, doc := range hostileXML {
		t0 := time.Now()
		_, err := ParseXML([]byte(doc))
		if name == "deep nesting" {
			// Unknown elements are skipped; within the depth limit of
			// encoding/xml this parses to an empty message, or fails.
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v", name, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
		// Linear: a few ms (a second under -race) for the deepest.
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("%s: parsing took %v", name, d)
		}
	}
	r := start(t, func(c *Config) { c.MaxBody = 256 << 10 }, nil)
	for name, doc := range hostileXML {
		// Encrypted, as safe mode takes it: the hostile document is what
		// decrypts.
		status, body, err := r.pusher.Send(context.Background(), fakeplatform.PushMessage{ToUserName: "gh"}, fakeplatform.Safe, fakeplatform.Tamper{Inner: []byte(doc)})
		if err != nil || status != 200 || body != "success" {
			t.Errorf("%s: %d %q %v, want success (dead-lettered)", name, status, body, err)
		}
	}
	if n := len(r.pub.Posts()); n != 0 {
		t.Errorf("stored %d posts from hostile XML", n)
	}
	if n := len(r.pub.Rejected()); n < len(hostileXML) {
		t.Errorf("dead-lettered %d of %d hostile documents", n, len(hostileXML))
	}
	for _, x := range r.pub.Rejected() {
		if strings.Contains(string(x.Payload), "root:") || strings.Contains(x.Reason.Error(), "root:") {
			t.Errorf("an external entity was read: %v", x.Reason)
		}
	}
}
