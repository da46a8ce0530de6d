package bus

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/config"
)

func openTest(t *testing.T) *Bus {
	t.Helper()
	cfg := config.Default().NATS
	cfg.EmbeddedListen = ""
	b, err := Open(context.Background(), cfg, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestTopologyIdempotentAndDedup(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	if err := b.EnsureTopology(ctx); err != nil {
		t.Fatalf("second EnsureTopology: %v", err)
	}
	for i := 0; i < 2; i++ {
		ack, err := b.Publish(ctx, Out{Subject: RawSubject("weibo"), Data: []byte("x"), MsgID: "weibo:1"})
		if err != nil {
			t.Fatal(err)
		}
		if ack.Duplicate != (i == 1) {
			t.Errorf("publish %d: duplicate=%v", i, ack.Duplicate)
		}
	}
	st, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Streams) != 4 || st.Streams[0].Name != StreamRaw || st.Streams[0].Messages != 1 {
		t.Errorf("state %+v", st.Streams)
	}
}

func TestDeadLetterReplay(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	letters := []DeadLetter{
		{Stage: "enrich", Err: errors.New("segmenter exploded"), Subject: RawSubject("weibo"), StreamSeq: 7, Deliveries: 5, Payload: []byte(`{"id":"7"}`)},
		{Stage: "replay", Err: errors.New("line 3: malformed JSON"), Source: "replay", Line: 3, Payload: []byte(`{bad`)},
	}
	for _, d := range letters {
		if err := b.DeadLetter(ctx, d); err != nil {
			t.Fatal(err)
		}
		// Re-sending the same dead letter (a stage retried after a crash) is
		// stored once.
		if err := b.DeadLetter(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DLQ["iwom.dlq.enrich"] != 1 || st.DLQ["iwom.dlq.replay"] != 1 {
		t.Fatalf("dlq counts %v", st.DLQ)
	}
	m, err := b.GetDeadLetter(ctx, 1)
	if err != nil || m.Header.Get(HdrDLQError) != "segmenter exploded" || m.Header.Get(HdrDLQDeliveries) != "5" {
		t.Fatalf("GetDeadLetter: %v %v", m, err)
	}
	res, err := b.ReplayDeadLetters(ctx, DLQPrefix+">", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replayed != 1 || res.Skipped != 1 {
		t.Errorf("replay result %+v", res)
	}
	var raw [][]byte
	if err := b.ReadAll(ctx, StreamRaw, RawPrefix+">", func(m jetstream.Msg) error {
		raw = append(raw, m.Data())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 1 || string(raw[0]) != `{"id":"7"}` {
		t.Errorf("raw stream after replay: %q", raw)
	}
	st, _ = b.State(ctx)
	if st.DLQ["iwom.dlq.enrich"] != 0 || st.DLQ["iwom.dlq.replay"] != 1 {
		t.Errorf("dlq after replay %v", st.DLQ)
	}
}

func TestSanitizeHeader(t *testing.T) {
	if got := SanitizeHeader("a\r\nb\xff"); got != "a  b\uFFFD" {
		t.Errorf("%q", got)
	}
}
