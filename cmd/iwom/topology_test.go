package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
)

// Issue 14, item 5: the read-only commands never create the topology. On a
// server without the streams they fail with a message that says what to
// do, and the server still has no stream afterwards.
func TestReadOnlyCommandsCreateNoStreams(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	t.Setenv("IWOM_NATS_URL", s.ClientURL())
	t.Setenv("IWOM_DATA_DIR", t.TempDir())
	t.Setenv("IWOM_METRICS_LISTEN", "")
	t.Setenv("IWOM_LOG_LEVEL", "error")

	for _, args := range [][]string{{"dlq", "list"}, {"dlq", "show", "1"}, {"dlq", "replay"}, {"status"}, {"replay", "--file", "/dev/null"}} {
		root := newRoot()
		root.SetArgs(args)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := root.ExecuteContext(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "not found: start iwom run or iwom migrate first") {
			t.Errorf("iwom %s: %v, want a missing stream error", strings.Join(args, " "), err)
		}
	}

	cfg := config.Default().NATS
	cfg.URL = s.ClientURL()
	b, err := bus.Connect(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	names, err := b.StreamNames(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("read-only commands created streams %v", names)
	}
}
