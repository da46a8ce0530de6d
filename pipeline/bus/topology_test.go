package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/config"
)

// bareServer starts a JetStream server with no iwom streams on it.
func bareServer(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.ClientURL()
}

func streamCount(t *testing.T, b *Bus) int {
	t.Helper()
	names, err := b.StreamNames(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}

// Issue 14, item 5: connecting has no side effects. A read-only use of the
// bus on a server without the streams fails clearly and creates nothing.
func TestConnectCreatesNothing(t *testing.T) {
	cfg := config.Default().NATS
	cfg.URL = bareServer(t)
	ctx := context.Background()
	b, err := Connect(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if n := streamCount(t, b); n != 0 {
		t.Fatalf("Connect created %d streams", n)
	}
	const want = "stream IWOM_DLQ not found: start iwom run or iwom migrate first"
	errs := map[string]error{}
	errs["ReadAll"] = b.ReadAll(ctx, StreamDLQ, DLQPrefix+">", func(jetstream.Msg) error { return nil })
	_, errs["GetDeadLetter"] = b.GetDeadLetter(ctx, 1)
	_, errs["StreamInfo"] = b.StreamInfo(ctx, StreamDLQ)
	_, errs["ConsumerInfo"] = b.ConsumerInfo(ctx, StreamDLQ, "x")
	for name, err := range errs {
		var missing *MissingStreamError
		if !errors.As(err, &missing) || err.Error() != want || !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if _, err := b.State(ctx); err == nil {
		t.Error("State on a server without streams: no error")
	}
	if n := streamCount(t, b); n != 0 {
		t.Fatalf("reading created %d streams", n)
	}
	if err := b.EnsureTopology(ctx); err != nil {
		t.Fatal(err)
	}
	if n := streamCount(t, b); n != len(StreamConfigs(cfg)) {
		t.Errorf("EnsureTopology: %d streams, want %d", n, len(StreamConfigs(cfg)))
	}
}

// Every stream and bucket takes nats.storage and nats.replicas from the one
// mapping.
func TestStorageMapping(t *testing.T) {
	cfg := config.Default().NATS
	cfg.EmbeddedListen = ""
	cfg.Storage = "memory"
	ctx := context.Background()
	b, err := Open(ctx, cfg, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.EnsureAlertsIn(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{StreamRaw, StreamEnriched, StreamAlerts, StreamDLQ, StreamAlertsIn} {
		info, err := b.StreamInfo(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Storage != jetstream.MemoryStorage || info.Config.Replicas != 1 {
			t.Errorf("%s: storage %v replicas %d", name, info.Config.Storage, info.Config.Replicas)
		}
	}
	kvs := map[string]func() (jetstream.KeyValue, error){
		"connector state": func() (jetstream.KeyValue, error) { return b.ConnectorState(ctx) },
		"alert state":     func() (jetstream.KeyValue, error) { return b.AlertState(ctx, "t_state") },
		"alert leases":    func() (jetstream.KeyValue, error) { return b.AlertLeases(ctx, "t_leases", time.Minute) },
	}
	for name, open := range kvs {
		kv, err := open()
		if err != nil {
			t.Fatal(err)
		}
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		si := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
		if si.Config.Storage != jetstream.MemoryStorage || si.Config.Replicas != 1 {
			t.Errorf("%s: storage %v replicas %d", name, si.Config.Storage, si.Config.Replicas)
		}
	}
}
