package forward

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
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
	return &Forwarder{URL: url, Secret: secret, Attempts: 4, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, Log: zerolog.Nop()}
}

// Transient failures are retried; the delivery that gets through is signed
// and carries the alert and its id.
func TestDeliverRetriesAndSigns(t *testing.T) {
	rc := &receiver{statuses: []int{503, 429, 200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	data := alertJSON(t)
	if err := newForwarder(srv.URL).Deliver(context.Background(), data); err != nil {
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
	err := newForwarder(srv.URL).Deliver(context.Background(), alertJSON(t))
	if !errors.Is(err, ErrRejected) || len(rc.bodies) != 1 {
		t.Fatalf("err %v after %d attempts", err, len(rc.bodies))
	}
}

// When every attempt fails the error is transient (the stream redelivers).
func TestDeliverGivesUpAfterAttempts(t *testing.T) {
	rc := &receiver{statuses: []int{500, 500, 500, 500, 500}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	err := newForwarder(srv.URL+"?token=abc").Deliver(context.Background(), alertJSON(t))
	if err == nil || errors.Is(err, ErrRejected) || len(rc.bodies) != 4 {
		t.Fatalf("err %v after %d attempts", err, len(rc.bodies))
	}
	if strings.Contains(err.Error(), "abc") {
		t.Errorf("the error shows the URL's token: %v", err)
	}
}

func TestTextBody(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f := newForwarder(srv.URL)
	f.Body = BodyText
	if err := f.Deliver(context.Background(), alertJSON(t)); err != nil {
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
