package stage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
)

func openBus(t *testing.T, maxDeliver int) *bus.Bus {
	t.Helper()
	cfg := config.Default().NATS
	cfg.EmbeddedListen = ""
	cfg.MaxDeliver = maxDeliver
	cfg.AckWait = 2 * time.Second
	b, err := bus.Open(context.Background(), cfg, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// A message that keeps failing is retried, then dead-lettered after
// max_deliver deliveries with the error, the stage and the original
// payload; the others go through; a panic does not stop the runner.
func TestRetryThenDeadLetter(t *testing.T) {
	b := openBus(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 20; i++ {
		if _, err := b.Publish(ctx, bus.Out{Subject: bus.RawSubject("weibo"), Data: []byte(fmt.Sprintf("m%d", i)), MsgID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var attemptsBad atomic.Int64
	var okSeen sync.Map // distinct messages processed well (a panicked batch is redelivered whole)
	panicked := atomic.Bool{}
	st := Func(func(_ context.Context, msgs []jetstream.Msg) []error {
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			switch string(m.Data()) {
			case "m7":
				attemptsBad.Add(1)
				errs[i] = errors.New("downstream refused m7")
			case "m9":
				errs[i] = fmt.Errorf("%w: m9 is garbage", post.ErrInvalid)
			case "m3":
				if panicked.CompareAndSwap(false, true) {
					panic("boom")
				}
				okSeen.Store(string(m.Data()), true)
			default:
				okSeen.Store(string(m.Data()), true)
			}
		}
		return errs
	})
	r := &Runner{Name: "test", Stream: bus.StreamRaw, Subject: bus.RawPrefix + ">", Stage: st, Batch: 5, Wait: 100 * time.Millisecond, Bus: b, Log: zerolog.Nop()}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for r.Processed() < 20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if r.Processed() != 20 {
		t.Fatalf("processed %d of 20", r.Processed())
	}
	// Three deliveries; one of them may have been lost to the panicking
	// batch, which fails every message of it before m7 is looked at.
	if a := attemptsBad.Load(); a < 2 || a > 3 {
		t.Errorf("m7 attempted %d times, want max_deliver = 3 deliveries", a)
	}
	var letters []jetstream.Msg
	if err := b.ReadAll(context.Background(), bus.StreamDLQ, bus.DLQSubject("test"), func(m jetstream.Msg) error {
		letters = append(letters, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(letters) != 2 {
		t.Fatalf("%d dead letters, want 2", len(letters))
	}
	got := map[string]string{}
	for _, m := range letters {
		got[string(m.Data())] = m.Headers().Get(bus.HdrDLQError)
		if m.Headers().Get(bus.HdrDLQStage) != "test" || m.Headers().Get(bus.HdrDLQSubject) != "iwom.raw.weibo" {
			t.Errorf("headers %v", m.Headers())
		}
	}
	if !strings.Contains(got["m7"], "giving up after 3 deliveries") || !strings.Contains(got["m7"], "downstream refused") {
		t.Errorf("m7 reason %q", got["m7"])
	}
	if !strings.Contains(got["m9"], "garbage") {
		t.Errorf("m9 reason %q", got["m9"])
	}
	n := 0
	okSeen.Range(func(any, any) bool { n++; return true })
	if n != 18 {
		t.Errorf("%d good messages processed, want 18", n)
	}
}

// An output its stream can never hold (larger than the enriched stream's
// limit) is a permanent error: the input goes to the dead letters at
// once, with the reason, and the messages behind it flow on. It used to be
// held and retried for ever (ErrNotStored), stopping the stage.
func TestOutputTooLargeIsDeadLettered(t *testing.T) {
	b := openBus(t, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 10; i++ {
		if _, err := b.Publish(ctx, bus.Out{Subject: bus.RawSubject("weibo"), Data: []byte(fmt.Sprintf("m%d", i)), MsgID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, enrichedMax := bus.MaxMsgSizes(b.Config())
	var attempts atomic.Int64
	st := Func(func(ctx context.Context, msgs []jetstream.Msg) []error {
		outs := make([]bus.Out, len(msgs))
		for i, m := range msgs {
			data := m.Data()
			if string(m.Data()) == "m4" {
				attempts.Add(1)
				data = make([]byte, enrichedMax+1)
			}
			outs[i] = bus.Out{Subject: bus.EnrichedSubject("weibo"), Data: data, MsgID: string(m.Data())}
		}
		errs := make([]error, len(msgs))
		for i, r := range b.PublishAll(ctx, outs) {
			errs[i] = r.Err
		}
		return errs
	})
	r := &Runner{Name: "big", Stream: bus.StreamRaw, Subject: bus.RawPrefix + ">", Stage: st, Batch: 3, Wait: 100 * time.Millisecond, Bus: b, Log: zerolog.Nop()}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for r.Processed() < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if r.Processed() != 10 {
		t.Fatalf("processed %d of 10: the oversized output stalled the stage", r.Processed())
	}
	if a := attempts.Load(); a != 1 {
		t.Errorf("m4 processed %d times, want once (a permanent error is not retried)", a)
	}
	var reasons []string
	if err := b.ReadAll(context.Background(), bus.StreamDLQ, bus.DLQSubject("big"), func(m jetstream.Msg) error {
		reasons = append(reasons, string(m.Data())+": "+m.Headers().Get(bus.HdrDLQError))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(reasons) != 1 || !strings.HasPrefix(reasons[0], "m4: ") || !strings.Contains(reasons[0], "too large") {
		t.Errorf("dead letters %q, want m4 as too large", reasons)
	}
}

// FuzzDecide: whatever an error wraps, a permanent one is dead-lettered at
// once and never held; a not-stored one is held, never dead-lettered; other
// failures are retried until max_deliver.
func FuzzDecide(f *testing.F) {
	f.Add(true, false, uint8(1), uint8(5), "x")
	f.Add(false, true, uint8(9), uint8(5), "x")
	f.Add(true, true, uint8(5), uint8(5), "")
	f.Fuzz(func(t *testing.T, invalid, notStored bool, delivered, maxDeliver uint8, msg string) {
		if maxDeliver == 0 {
			maxDeliver = 1
		}
		var err error
		if msg != "" || invalid || notStored {
			err = errors.New(msg)
		}
		if notStored {
			err = bus.Classify(err)
		}
		if invalid {
			err = fmt.Errorf("%w: %w", post.ErrInvalid, err)
		}
		got := Decide(err, uint64(delivered), uint64(maxDeliver))
		switch {
		case err == nil:
			if got != Ack {
				t.Fatalf("nil error: %v", got)
			}
		case invalid:
			if got != DeadLetter {
				t.Fatalf("permanent error %v: %v", err, got)
			}
		case notStored:
			if got != Hold {
				t.Fatalf("not stored %v: %v", err, got)
			}
		case uint64(delivered) >= uint64(maxDeliver):
			if got != DeadLetter {
				t.Fatalf("after %d of %d deliveries: %v", delivered, maxDeliver, got)
			}
		default:
			if got != Retry {
				t.Fatalf("transient %v: %v", err, got)
			}
		}
	})
}
