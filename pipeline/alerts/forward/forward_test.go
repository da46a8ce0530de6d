package forward

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
)

var secret = []byte("s3cret")

func alertJSON(t *testing.T) []byte {
	t.Helper()
	a := &alerts.Alert{Version: alerts.SchemaVersion, ID: "siemens:negative_spike:1795381380", Seq: 2, Rule: "negative_spike", Kind: alerts.KindNegativeSpike,
		Brand: "siemens", State: alerts.StateUpdate, Severity: 8, PeakSeverity: 8, Observed: 84, Baseline: 3.5,
		WindowStart: time.Date(2026, 11, 22, 21, 13, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 22, 21, 23, 0, 0, time.UTC),
		TopKeywords: []string{"冰箱门", "售后"}, SampleTexts: []string{"#西门子冰箱门# 门关不上"}}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// receiver records deliveries and answers with the statuses it is given,
// then 200.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
	errs     []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies = append(rc.bodies, body)
	rc.headers = append(rc.headers, r.Header.Clone())
	rc.errs = append(rc.errs, Verify(secret, r.Header.Get(HdrTimestamp), r.Header.Get(HdrSignature), body, time.Now(), 5*time.Minute))
	code := http.StatusOK
	if len(rc.statuses) > 0 {
		code, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(code)
}

func newForwarder(url string) *Forwarder {
	return &Forwarder{URL: url, Secret: secret, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, Log: zerolog.Nop()}
}

// Transient failures are retried; the delivery that gets through is signed
// and carries the alert and its id.
func TestDeliverRetriesAndSigns(t *testing.T) {
	rc := &receiver{statuses: []int{503, 429, 200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	data := alertJSON(t)
	if err := newForwarder(srv.URL).Deliver(context.Background(), data, nil); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != 3 {
		t.Fatalf("%d attempts, want 3", len(rc.bodies))
	}
	for i, err := range rc.errs {
		if err != nil {
			t.Errorf("attempt %d: %v", i, err)
		}
	}
	h := rc.headers[2]
	if h.Get(HdrAlertID) != "siemens:negative_spike:1795381380#2" || h.Get("Idempotency-Key") != h.Get(HdrAlertID) || string(rc.bodies[2]) != string(data) {
		t.Errorf("headers %v body %s", h, rc.bodies[2])
	}
	// A tampered body fails verification.
	ts, sig := h.Get(HdrTimestamp), h.Get(HdrSignature)
	if Verify(secret, ts, sig, append([]byte(nil), strings.Replace(string(data), "84", "85", 1)...), time.Now(), time.Minute) == nil {
		t.Error("tampered body verified")
	}
	if Verify([]byte("other"), ts, sig, data, time.Now(), time.Minute) == nil {
		t.Error("wrong secret verified")
	}
	if Verify(secret, ts, sig, data, time.Now().Add(time.Hour), time.Minute) == nil {
		t.Error("an old delivery verified")
	}
}

// A 4xx other than 408/429 is a rejection: no retry.
func TestDeliverRejected(t *testing.T) {
	rc := &receiver{statuses: []int{400}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	err := newForwarder(srv.URL).Deliver(context.Background(), alertJSON(t), nil)
	if !errors.Is(err, ErrRejected) || len(rc.bodies) != 1 {
		t.Fatalf("err %v after %d attempts", err, len(rc.bodies))
	}
}

func TestTextBody(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f := newForwarder(srv.URL)
	f.Body = BodyText
	if err := f.Deliver(context.Background(), alertJSON(t), nil); err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(rc.bodies[0], &m); err != nil || !strings.Contains(m["text"], "[UPDATE sev 8] siemens negative_spike: 84 posts vs 3.5 expected") || !strings.Contains(m["text"], "冰箱门") {
		t.Errorf("text body %s (%v)", rc.bodies[0], err)
	}
}

// The forwarding stage skips alerts under the minimum severity, delivers
// the others in order and dead-letters the one the endpoint rejects.
func TestStageDeliversSkipsAndDeadLetters(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NATS.EmbeddedListen = ""
	cfg.NATS.FetchWait = 100 * time.Millisecond
	b, err := bus.Open(context.Background(), cfg.NATS, cfg.DataDir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get(HdrAlertID)
		if strings.HasPrefix(id, "bad:") {
			http.Error(w, "unknown channel", http.StatusNotFound)
			return
		}
		got = append(got, id)
	}))
	defer srv.Close()
	for i, a := range []struct {
		brand string
		sev   int
	}{{"a", 7}, {"a", 3}, {"bad", 9}, {"b", 5}} {
		al := &alerts.Alert{Version: alerts.SchemaVersion, ID: a.brand + ":r:" + strconv.Itoa(i), Seq: 1, Rule: "r", Brand: a.brand, State: alerts.StateFiring, Severity: a.sev}
		data, _ := json.Marshal(al)
		h := nats.Header{}
		h.Set(alerts.HdrSeverity, strconv.Itoa(a.sev))
		if _, err := b.Publish(context.Background(), bus.Out{Subject: al.Subject(), Data: data, MsgID: al.MsgID(), Header: h}); err != nil {
			t.Fatal(err)
		}
	}
	f := newForwarder(srv.URL)
	f.MinSeverity = 5
	r := &stage.Runner{Name: "alerts-forward", Stream: bus.StreamAlerts, Subject: bus.AlertsPrefix + ">", Stage: Stage{F: f}, Batch: 10, Wait: 100 * time.Millisecond, Parallel: 1, Bus: b, Log: zerolog.Nop()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for r.Processed() < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != "a:r:0#1,b:r:3#1" {
		t.Errorf("delivered %v", got)
	}
	n := 0
	_ = b.ReadAll(context.Background(), bus.StreamDLQ, bus.DLQSubject("alerts-forward"), func(m jetstream.Msg) error {
		n++
		if !strings.Contains(m.Headers().Get(bus.HdrDLQError), "404") {
			t.Errorf("dead letter reason %q", m.Headers().Get(bus.HdrDLQError))
		}
		return nil
	})
	if n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
}

// fakeClock stands for the wall clock: sleeping moves it on at once.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return true
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// onClock makes f use c (and the defaults of the command otherwise).
func onClock(f *Forwarder, c *fakeClock) *Forwarder {
	f.now, f.sleep = c.now, c.sleep
	return f
}

// fakeMsg is a JetStream message that counts the InProgress calls.
type fakeMsg struct {
	jetstream.Msg // nil: the methods the stage does not use panic
	data          []byte
	progress      atomic.Int64
}

func (m *fakeMsg) Data() []byte         { return m.data }
func (m *fakeMsg) Headers() nats.Header { return nats.Header{} }
func (m *fakeMsg) InProgress() error    { m.progress.Add(1); return nil }

// process runs one alert through the Stage and returns its error (the
// runner's verdict: nil acks, post.ErrInvalid dead-letters with the error as
// the reason, anything else naks).
func process(ctx context.Context, f *Forwarder, data []byte) error {
	return Stage{F: f}.Process(ctx, []stage.Msg{{Data: data}})[0].Err
}

// counter counts the requests an endpoint gets.
type counter struct{ n atomic.Int64 }

func (c *counter) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { c.n.Add(1); h(w, r) }
}

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://hooks.slack.com/services/T024BE7LD/B01AB2CD3EF/XyZ1aBcDeFgHiJkLmNoPqRsT", "https://hooks.slack.com/services/***/***/***"},
		{"https://open.feishu.cn/open-apis/bot/v2/hook/8d3f5b7a-1c2e-4f60-9a8b-7c6d5e4f3a2b", "https://open.feishu.cn/open-apis/bot/v2/hook/***"},
		{"https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123456789abcdef", "https://oapi.dingtalk.com/robot/send?***"},
		{"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?***"},
		{"https://discord.com/api/webhooks/123456789012345678/abcDEF_ghi-JKL", "https://discord.com/api/webhooks/***/***"},
		{"https://bot:pa55word@alerts.example.com:8443/hooks/incoming?x=1#frag", "https://alerts.example.com:8443/hooks/incoming?***"},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000/"},
		{"https://example.com/a%2Fb/0123456789abcdefXYZ", "https://example.com/a%2Fb/***"},
		{"not a url at all://", "(unparsable URL)"},
		{"/relative/path", "(unparsable URL)"},
	} {
		if got := redactURL(c.in); got != c.want {
			t.Errorf("redactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if err := CheckURL("ftp://u:tok3n1234@host/x"); err == nil || strings.Contains(err.Error(), "tok3n1234") {
		t.Errorf("CheckURL: %v", err)
	}
	if err := CheckURL("https://host/hooks/x"); err != nil {
		t.Errorf("CheckURL: %v", err)
	}
}

// Issue 13: the webhook URL's tokens (in its path, its query and its
// userinfo) show in no error (dead-letter reason) and no log line, whether
// the endpoint is down, answers 500 or 400 echoing the request, or
// redirects to a server that is down.
func TestIssue13ErrorsAndLogsHideTheURLTokens(t *testing.T) {
	const (
		user     = "hookuser"
		pass     = "uSeRpa55w0rd77"
		pathTok  = "pAtHt0ken9f8e7d6c5b4a3"
		queryTok = "qUeRyt0ken1a2b3c4d5e6f"
		otherTok = "0ThErt0kenZZ99887766"
	)
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	tokens := []string{pass, pathTok, queryTok, otherTok, basic}
	down := httptest.NewServer(http.NotFoundHandler())
	downHost := down.Listener.Addr().String()
	down.Close() // connection refused from now on
	echo := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			fmt.Fprintf(w, "no such hook: %s (auth %s)\nfull: http://%s:%s@%s%s\n", r.RequestURI, r.Header.Get("Authorization"), user, pass, r.Host, r.URL.RawQuery)
		}
	}
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc // nil: the endpoint is down
		want    error
	}{
		{"down", nil, ErrUnavailable},
		{"500 echoing the request", echo(http.StatusInternalServerError), ErrUnavailable},
		{"400 echoing the request", echo(http.StatusBadRequest), ErrRejected},
		{"redirect to a server that is down", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+downHost+"/hooks/"+otherTok+"?key="+otherTok, http.StatusTemporaryRedirect)
		}, ErrUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			host := downHost
			if c.handler != nil {
				srv := httptest.NewServer(c.handler)
				defer srv.Close()
				host = srv.Listener.Addr().String()
			}
			hook := fmt.Sprintf("http://%s:%s@%s/open-apis/bot/v2/hook/%s?key=%s&access_token=%s", user, pass, host, pathTok, queryTok, queryTok)
			var logs bytes.Buffer
			f := onClock(&Forwarder{URL: hook, Secret: secret, Log: zerolog.New(&logs).Level(zerolog.DebugLevel)}, newFakeClock())
			err := process(context.Background(), f, alertJSON(t))
			if !errors.Is(err, c.want) || !errors.Is(err, post.ErrInvalid) {
				t.Fatalf("err %v: want %v, dead-lettered", err, c.want)
			}
			if !strings.Contains(err.Error(), "http://"+host+"/open-apis/bot/v2/hook/***") {
				t.Errorf("the error does not name the endpoint: %v", err)
			}
			if logs.Len() == 0 && c.want == ErrUnavailable {
				t.Error("no log line about the outage")
			}
			for _, tok := range tokens {
				if strings.Contains(err.Error(), tok) {
					t.Errorf("the error shows %q: %v", tok, err)
				}
				if strings.Contains(logs.String(), tok) {
					t.Errorf("the log shows %q: %s", tok, logs.String())
				}
			}
			t.Logf("dead-letter reason: %v", err)
		})
	}
}

// An answer longer than what is read may end with the start of a token:
// that start is masked too.
func TestExcerptMasksATokenCutByTheReadLimit(t *testing.T) {
	tok := strings.Repeat("0123456789abcdef", 4) // a DingTalk-like access token
	r := newRedactor("https://oapi.dingtalk.com/robot/send?access_token=" + tok)
	body := "ab" + strings.Repeat(tok, 70)
	got := r.excerpt([]byte(body[:maxBodyRead+1]), true)
	if len(got) > maxExcerpt+len("…") {
		t.Errorf("excerpt of %d bytes", len(got))
	}
	if strings.Contains(got, tok[:16]) {
		t.Errorf("excerpt shows the token's start: %s", got)
	}
	if got := r.excerpt([]byte("line one\r\nline\x00two \u2028 "+tok), false); got != "line one line two ***" {
		t.Errorf("excerpt %q", got)
	}
}

// outage answers 503 until the fake clock reaches end, then 200.
func outage(c *fakeClock, end time.Time, hits *counter, ok *atomic.Int64) http.HandlerFunc {
	return hits.wrap(func(w http.ResponseWriter, r *http.Request) {
		if c.now().Before(end) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		ok.Add(1)
	})
}

// Issue 13: with the defaults, a 2-hour outage is retried (capped backoff)
// for an hour, then the alert is dead-lettered as unavailable.
func TestIssue13LongOutageRetriedForRetryForThenDeadLettered(t *testing.T) {
	c := newFakeClock()
	start := c.now()
	var hits counter
	var ok atomic.Int64
	srv := httptest.NewServer(outage(c, start.Add(2*time.Hour), &hits, &ok))
	defer srv.Close()
	f := onClock(&Forwarder{URL: srv.URL, Secret: secret, Log: zerolog.Nop()}, c)
	err := process(context.Background(), f, alertJSON(t))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, post.ErrInvalid) || !strings.HasPrefix(err.Error(), "webhook unavailable for 1h0m0s: ") {
		t.Fatalf("err %v: want a dead letter for an unavailable webhook", err)
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("the reason lacks the last error: %v", err)
	}
	if got := c.now().Sub(start); got != time.Hour {
		t.Errorf("gave up after %v, want 1h", got)
	}
	for _, d := range c.sleeps() {
		if d > 30*time.Second || d < 0 {
			t.Fatalf("slept %v: want at most the 30s cap", d)
		}
	}
	// 1h at 15–30s a retry (jittered 30s cap) after a ramp from 500ms.
	if n := hits.n.Load(); n < 120 || n > 260 || ok.Load() != 0 {
		t.Errorf("%d attempts, %d delivered", n, ok.Load())
	}
}

// Issue 13: a 30-minute outage followed by recovery delivers the alert.
func TestIssue13OutageThenRecoveryDelivers(t *testing.T) {
	c := newFakeClock()
	start := c.now()
	var hits counter
	var ok atomic.Int64
	srv := httptest.NewServer(outage(c, start.Add(30*time.Minute), &hits, &ok))
	defer srv.Close()
	var logs bytes.Buffer
	f := onClock(&Forwarder{URL: srv.URL, Secret: secret, Log: zerolog.New(&logs)}, c)
	if err := process(context.Background(), f, alertJSON(t)); err != nil {
		t.Fatal(err)
	}
	if got := c.now().Sub(start); got < 30*time.Minute || got > 30*time.Minute+30*time.Second {
		t.Errorf("delivered after %v, want 30m–30m30s", got)
	}
	if ok.Load() != 1 || hits.n.Load() < 60 {
		t.Errorf("%d attempts, %d delivered", hits.n.Load(), ok.Load())
	}
	// A warning when the outage starts, one every 10 minutes, one on recovery.
	if n := strings.Count(logs.String(), "holding the alert"); n != 3 || !strings.Contains(logs.String(), "webhook delivery recovered") {
		t.Errorf("%d warnings; log:\n%s", n, logs.String())
	}
}

// Issue 13: a 400 and an undecodable alert are dead-lettered at once.
func TestIssue13RejectionDeadLetteredAtOnce(t *testing.T) {
	c := newFakeClock()
	var hits counter
	srv := httptest.NewServer(hits.wrap(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"code":19001,"msg":"param invalid"}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	f := onClock(&Forwarder{URL: srv.URL, Secret: secret, Log: zerolog.Nop()}, c)
	err := process(context.Background(), f, alertJSON(t))
	if !errors.Is(err, ErrRejected) || !errors.Is(err, post.ErrInvalid) || hits.n.Load() != 1 || len(c.sleeps()) != 0 {
		t.Fatalf("err %v after %d attempts and %d sleeps", err, hits.n.Load(), len(c.sleeps()))
	}
	if !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), "param invalid") || strings.Contains(err.Error(), "invalid post") {
		t.Errorf("reason %q", err)
	}
	err = process(context.Background(), f, []byte("{not json"))
	if !errors.Is(err, ErrRejected) || !errors.Is(err, post.ErrInvalid) || hits.n.Load() != 1 {
		t.Errorf("undecodable alert: err %v after %d attempts", err, hits.n.Load())
	}
}

// Retry-After is honoured up to the backoff cap; 408 and 429 are transient.
func TestRetryAfterHonouredUpToTheCap(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		after  func(now time.Time) string
		want   time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, func(time.Time) string { return "20" }, 20 * time.Second},
		{"503 date", http.StatusServiceUnavailable, func(now time.Time) string { return now.Add(25 * time.Second).UTC().Format(http.TimeFormat) }, 25 * time.Second},
		{"429 beyond the cap", http.StatusTooManyRequests, func(time.Time) string { return "7200" }, 30 * time.Second},
		{"408", http.StatusRequestTimeout, func(time.Time) string { return "" }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			var hits counter
			srv := httptest.NewServer(hits.wrap(func(w http.ResponseWriter, r *http.Request) {
				if hits.n.Load() == 1 {
					if v := c.after(clock.now()); v != "" {
						w.Header().Set("Retry-After", v)
					}
					w.WriteHeader(c.status)
				}
			}))
			defer srv.Close()
			f := onClock(&Forwarder{URL: srv.URL, Secret: secret, BackoffMin: time.Millisecond, Log: zerolog.Nop()}, clock)
			if err := f.Deliver(context.Background(), alertJSON(t), nil); err != nil {
				t.Fatal(err)
			}
			s := clock.sleeps()
			switch {
			case len(s) != 1 || hits.n.Load() != 2:
				t.Errorf("%d attempts, slept %v", hits.n.Load(), s)
			case c.want > 0 && s[0] != c.want:
				t.Errorf("slept %v, want %v", s[0], c.want)
			case c.want == 0 && s[0] > time.Millisecond:
				t.Errorf("slept %v, want the first backoff step (≤ 1ms)", s[0])
			}
		})
	}
}

// A shutdown interrupts the retries: the message goes back to the stream
// (nak), it is not dead-lettered.
func TestShutdownDuringOutageHandsTheMessageBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hits counter
	srv := httptest.NewServer(hits.wrap(func(w http.ResponseWriter, r *http.Request) {
		if hits.n.Load() == 3 {
			cancel()
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	f := onClock(&Forwarder{URL: srv.URL, Secret: secret, Log: zerolog.Nop()}, newFakeClock())
	err := process(ctx, f, alertJSON(t))
	if err == nil || errors.Is(err, post.ErrInvalid) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v: want a transient error", err)
	}
}

// Against real JetStream with a 1s ack_wait and two pull loops, an alert
// held through a 2.5s outage is not redelivered behind the forwarder's back
// (the runner keeps the batch in progress): one delivery from the stream,
// one POST that succeeds.
func TestStageHoldsTheMessageThroughAnOutage(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NATS.EmbeddedListen = ""
	cfg.NATS.FetchWait = 100 * time.Millisecond
	cfg.NATS.AckWait = time.Second
	b, err := bus.Open(context.Background(), cfg.NATS, cfg.DataDir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	failUntil := time.Now().Add(2500 * time.Millisecond)
	var mu sync.Mutex
	var delivered []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if time.Now().Before(failUntil) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		delivered = append(delivered, r.Header.Get(HdrAlertID))
	}))
	defer srv.Close()
	al := &alerts.Alert{Version: alerts.SchemaVersion, ID: "a:r:1", Seq: 1, Rule: "r", Brand: "a", State: alerts.StateFiring, Severity: 7}
	data, _ := json.Marshal(al)
	if _, err := b.Publish(context.Background(), bus.Out{Subject: al.Subject(), Data: data, MsgID: al.MsgID()}); err != nil {
		t.Fatal(err)
	}
	f := &Forwarder{URL: srv.URL, Secret: secret, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, KeepAlive: cfg.NATS.AckWait / 3, Log: zerolog.Nop()}
	var maxDelivered atomic.Uint64
	st := stage.Func(func(ctx context.Context, msgs []stage.Msg) []stage.Result {
		for _, m := range msgs {
			if m.Delivered > maxDelivered.Load() {
				maxDelivered.Store(m.Delivered)
			}
		}
		return Stage{F: f}.Process(ctx, msgs)
	})
	r := &stage.Runner{Name: "alerts-forward", Stream: bus.StreamAlerts, Subject: bus.AlertsPrefix + ">", Stage: st, Batch: 10, Wait: 100 * time.Millisecond, Parallel: 2, Bus: b, Log: zerolog.Nop()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for r.Processed() < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a redelivery would show by now
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(delivered, ",") != "a:r:1#1" || maxDelivered.Load() != 1 || r.Processed() != 1 {
		t.Errorf("delivered %v, %d deliveries from the stream, %d processed", delivered, maxDelivered.Load(), r.Processed())
	}
}
