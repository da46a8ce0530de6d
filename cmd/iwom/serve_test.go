package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/api"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
)

// Issue 13: iwom serve logged the NATS URL with its password.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://user:secret@nats.example:4222":              "nats://user:***@nats.example:4222",
		"nats://s3cr3t-token@nats.example:4222":             "nats://***@nats.example:4222",
		"tls://user:p%40ss@a:4222,tls://user:p%40ss@b:4222": "tls://user:***@a:4222,tls://user:***@b:4222",
		"nats://a:4222, nats://u:pw@b:4222":                 "nats://a:4222,nats://u:***@b:4222",
		"user:secret@nats.example:4222":                     "user:***@nats.example:4222",
		"nats://user:se%zzcret@host:4222":                   "nats://***@host:4222",
		"http://user@example.com/x":                         "http://user@example.com/x",
		"https://user:pw@example.com/path?q=1":              "https://user:***@example.com/path?q=1",
		"nats://127.0.0.1:4222":                             "nats://127.0.0.1:4222",
		"":                                                  "",
		"nats://us%3Aer:pa:ss@h":                            "nats://us%3Aer:***@h",
	} {
		got := redactURL(in)
		if got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		for _, secret := range []string{"secret", "s3cr3t", "p%40ss", "pw@", "pa:ss", "zzcret"} {
			if strings.Contains(got, secret) {
				t.Errorf("redactURL(%q) = %q still holds %s", in, got, secret)
			}
		}
	}
}

func TestRedactSecrets(t *testing.T) {
	msg := `connecting to NATS: parse "nats://bob:hunter2@h:x": invalid port; token tok-0123456789 refused`
	got := redactSecrets(msg, []string{"tok-0123456789", "", "hunter2"})
	if strings.Contains(got, "hunter2") || strings.Contains(got, "tok-0123456789") || !strings.Contains(got, "nats://***@h:x") {
		t.Errorf("%q", got)
	}
}

// Issue 13: Last-Event-ID 18446744073709551615 made bus.Feed start at
// sequence 0 (after+1 wraps), the feed failed and the browser reconnected
// in a loop; an id above the stream's last sequence waited for sequences
// the stream had not reached and delivered nothing. Both resume at the
// live tail.
func TestAlertFeedResumesPastTheEnd(t *testing.T) {
	cfg := config.Default().NATS
	cfg.EmbeddedListen = ""
	b, err := bus.Open(context.Background(), cfg, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := 0
	publish := func() {
		t.Helper()
		n++
		if _, err := b.Publish(ctx, bus.Out{Subject: bus.AlertSubject("siemens", "volume_spike"), Data: []byte(fmt.Sprint("alert-", n))}); err != nil {
			t.Fatal(err)
		}
	}
	feed := alertFeed(b)
	// follow runs the feed from after, publishes one alert once the feed
	// is up, and returns what the feed delivered: want messages, and
	// whatever else comes shortly after them.
	follow := func(after uint64, want int) ([]uint64, error) {
		t.Helper()
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		seqs := make(chan uint64, 100)
		done := make(chan error, 1)
		go func() {
			done <- feed(fctx, []string{"siemens"}, after, func(seq uint64, _ []byte) error { seqs <- seq; return nil })
		}()
		time.Sleep(200 * time.Millisecond)
		publish()
		var got []uint64
		wait := 3 * time.Second
		for {
			select {
			case s := <-seqs:
				if got = append(got, s); len(got) >= want {
					wait = 200 * time.Millisecond
				}
				continue
			case err := <-done:
				return got, err
			case <-time.After(wait):
			}
			return got, nil
		}
	}
	for i := 0; i < 3; i++ {
		publish()
	}
	for _, after := range []uint64{api.LiveTail, math.MaxUint64 - 1, 1 << 40, 100} {
		last := uint64(n)
		got, err := follow(after, 1)
		if err != nil || len(got) != 1 || got[0] != last+1 {
			t.Errorf("after %d (stream at %d): delivered %v, %v; want the new alert %d", after, last, got, err, last+1)
		}
	}
	// Within the stream, resuming still replays what came after.
	last := uint64(n)
	if got, err := follow(last-2, 3); err != nil || fmt.Sprint(got) != fmt.Sprint([]uint64{last - 1, last, last + 1}) {
		t.Errorf("after %d: %v, %v", last-2, got, err)
	}
}

func TestAlertFeedOnAnEmptyStream(t *testing.T) {
	cfg := config.Default().NATS
	cfg.EmbeddedListen = ""
	b, err := bus.Open(context.Background(), cfg, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan uint64, 1)
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	go func() {
		_ = alertFeed(b)(feedCtx, nil, api.LiveTail, func(seq uint64, _ []byte) error {
			select {
			case got <- seq:
			default:
			}
			return nil
		})
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := b.Publish(ctx, bus.Out{Subject: bus.AlertSubject("haier", "volume_spike"), Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != 1 {
			t.Errorf("seq %d", s)
		}
	case <-ctx.Done():
		t.Error("the first alert of an empty stream was not delivered")
	}
}
