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
	st := Func(func(_ context.Context, msgs []Msg) []Result {
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			switch string(m.Data) {
			case "m7":
				attemptsBad.Add(1)
				errs[i] = errors.New("downstream refused m7")
			case "m9":
				errs[i] = fmt.Errorf("%w: m9 is garbage", post.ErrInvalid)
			case "m3":
				if panicked.CompareAndSwap(false, true) {
					panic("boom")
				}
				okSeen.Store(string(m.Data), true)
			default:
				okSeen.Store(string(m.Data), true)
			}
		}
		return Errs(errs)
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
	st := Func(func(ctx context.Context, msgs []Msg) []Result {
		res := make([]Result, len(msgs))
		for i, m := range msgs {
			data := m.Data
			if string(m.Data) == "m4" {
				attempts.Add(1)
				data = make([]byte, enrichedMax+1)
			}
			res[i].Outs = []Out{{Subject: bus.EnrichedSubject("weibo"), Data: data, MsgID: string(m.Data)}}
		}
		return res
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

// A message whose stage needs something unavailable is held in progress
// and processed again until it goes through: not redelivered behind the
// runner's back (the hold outlasts ack_wait), not dead-lettered (even with
// max_deliver 1), processed again without the others of its batch.
func TestHoldWhileUnavailable(t *testing.T) {
	b := openBus(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 3; i++ {
		if _, err := b.Publish(ctx, bus.Out{Subject: bus.RawSubject("weibo"), Data: []byte(fmt.Sprintf("m%d", i)), MsgID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	until := time.Now().Add(3 * time.Second) // longer than ack_wait (2s)
	var calls sync.Map
	var maxDelivered atomic.Uint64
	st := Func(func(_ context.Context, msgs []Msg) []Result {
		res := make([]Result, len(msgs))
		for i, m := range msgs {
			n, _ := calls.LoadOrStore(string(m.Data), new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			if m.Delivered > maxDelivered.Load() {
				maxDelivered.Store(m.Delivered)
			}
			if string(m.Data) == "m1" && time.Now().Before(until) {
				res[i].Err = fmt.Errorf("ClickHouse down: %w", ErrUnavailable)
			}
		}
		return res
	})
	r := &Runner{Name: "hold", Stream: bus.StreamRaw, Subject: bus.RawPrefix + ">", Stage: st, Batch: 10, Wait: 100 * time.Millisecond, Parallel: 1,
		HoldMin: 100 * time.Millisecond, HoldMax: 200 * time.Millisecond, Bus: b, Log: zerolog.Nop()}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); r.Processed() < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if r.Processed() != 3 {
		t.Fatalf("processed %d of 3", r.Processed())
	}
	if d := maxDelivered.Load(); d != 1 {
		t.Errorf("a message was delivered %d times: the hold did not keep it in progress", d)
	}
	for _, k := range []string{"m0", "m2"} {
		if n, _ := calls.Load(k); n.(*atomic.Int64).Load() != 1 {
			t.Errorf("%s processed %d times, want once", k, n.(*atomic.Int64).Load())
		}
	}
	if n, _ := calls.Load("m1"); n.(*atomic.Int64).Load() < 5 {
		t.Errorf("m1 processed %d times while held", n.(*atomic.Int64).Load())
	}
	var letters int
	_ = b.ReadAll(context.Background(), bus.StreamDLQ, bus.DLQSubject("hold"), func(jetstream.Msg) error { letters++; return nil })
	if letters != 0 {
		t.Errorf("%d dead letters", letters)
	}
}

// committer records, at each Commit, how many outputs the stream held.
type committer struct {
	Func
	b      *bus.Bus
	stored []uint64
}

func (c *committer) Commit(ctx context.Context, msgs []Msg, res []Result) error {
	info, err := c.b.StreamInfo(ctx, bus.StreamEnriched)
	if err != nil {
		return err
	}
	c.stored = append(c.stored, info.State.Msgs)
	return nil
}

// The commit step runs after the batch's outputs are stored, before acks.
func TestCommitAfterOutputsStored(t *testing.T) {
	b := openBus(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 4; i++ {
		if _, err := b.Publish(ctx, bus.Out{Subject: bus.RawSubject("weibo"), Data: []byte(fmt.Sprintf("m%d", i)), MsgID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	c := &committer{b: b, Func: func(_ context.Context, msgs []Msg) []Result {
		res := make([]Result, len(msgs))
		for i, m := range msgs {
			res[i].Outs = []Out{{Subject: bus.EnrichedSubject("weibo"), Data: m.Data, MsgID: string(m.Data)}}
		}
		return res
	}}
	r := &Runner{Name: "commit", Stream: bus.StreamRaw, Subject: bus.RawPrefix + ">", Stage: c, Batch: 4, Wait: 200 * time.Millisecond, Parallel: 1, Bus: b, Log: zerolog.Nop()}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); r.Processed() < 4 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	var total uint64
	for _, n := range c.stored {
		total = n
	}
	if r.Processed() != 4 || len(c.stored) == 0 || total != 4 {
		t.Errorf("processed %d; outputs stored at each commit %v, want all 4 by the last", r.Processed(), c.stored)
	}
}
