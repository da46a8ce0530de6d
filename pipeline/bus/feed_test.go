package bus

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestFeed: a feed replays the stored messages it is asked for (the last
// backlog of the stream, or those after a sequence), filtered by subject,
// then delivers new ones as they are stored.
func TestFeed(t *testing.T) {
	b := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub := func(brand string, i int) {
		t.Helper()
		if _, err := b.Publish(ctx, Out{Subject: AlertSubject(brand, "volume_spike"), Data: []byte(fmt.Sprintf("%s-%d", brand, i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		pub("siemens", i) // seq 2i-1
		pub("haier", i)   // seq 2i
	}
	type got struct {
		seq  uint64
		data string
	}
	run := func(subjects []string, after uint64, backlog int, live func()) []got {
		t.Helper()
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		ch := make(chan got, 100)
		done := make(chan error, 1)
		go func() {
			done <- b.Feed(fctx, StreamAlerts, subjects, after, backlog, func(m FeedMsg) error {
				ch <- got{m.Seq, string(m.Data)}
				return nil
			})
		}()
		var out []got
		timeout := time.After(3 * time.Second)
		for liveDone := false; ; {
			select {
			case g := <-ch:
				out = append(out, g)
				continue
			case <-time.After(300 * time.Millisecond):
			case <-timeout:
			}
			if live != nil && !liveDone {
				live()
				liveDone = true
				continue
			}
			break
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The last 4 stream messages, siemens only: seq 7 and 9.
	g := run([]string{AlertsPrefix + "siemens.>"}, 0, 4, nil)
	if fmt.Sprint(g) != "[{7 siemens-4} {9 siemens-5}]" {
		t.Errorf("backlog: %v", g)
	}
	// Resuming after seq 6, all brands, then a live message.
	g = run(nil, 6, 4, func() { pub("haier", 6) })
	if fmt.Sprint(g) != "[{7 siemens-4} {8 haier-4} {9 siemens-5} {10 haier-5} {11 haier-6}]" {
		t.Errorf("resume and live: %v", g)
	}
	// Two brands' subjects at once, nothing stored after the point.
	g = run([]string{AlertsPrefix + "siemens.>", AlertsPrefix + "haier.>"}, 11, 4, func() { pub("siemens", 6) })
	if fmt.Sprint(g) != "[{12 siemens-6}]" {
		t.Errorf("live only: %v", g)
	}
}
