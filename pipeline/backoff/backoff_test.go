package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		attempt  int
		min, max time.Duration
		want     time.Duration
	}{
		{1, 100 * ms, 5000 * ms, 100 * ms},
		{2, 100 * ms, 5000 * ms, 200 * ms},
		{6, 100 * ms, 5000 * ms, 3200 * ms},
		{7, 100 * ms, 5000 * ms, 5000 * ms},
		{1000, 100 * ms, 5000 * ms, 5000 * ms}, // no overflow
		{1, time.Second, 10 * time.Second, time.Second},
		{10, time.Second, 10 * time.Second, 10 * time.Second},
		{3, 0, time.Second, 0},
		{3, 100 * ms, 0, 100 * ms}, // no cap given: min
	} {
		if got := Delay(c.attempt, c.min, c.max); got != c.want {
			t.Errorf("Delay(%d, %v, %v) = %v, want %v", c.attempt, c.min, c.max, got, c.want)
		}
	}
}

func TestJitter(t *testing.T) {
	if Jitter(0) != 0 {
		t.Error("Jitter(0) != 0")
	}
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := Jitter(100)
		if d < 50 || d > 100 {
			t.Fatalf("Jitter(100) = %d, outside [50, 100]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("Jitter(100) took only %d values in 1000 draws", len(seen))
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("a full sleep reported false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if Sleep(ctx, time.Hour) {
		t.Error("a cancelled sleep reported true")
	}
	if time.Since(start) > time.Second {
		t.Error("a cancelled sleep did not return at once")
	}
	if Sleep(ctx, 0) {
		t.Error("Sleep(cancelled, 0) reported true")
	}
	if !Sleep(context.Background(), 0) {
		t.Error("Sleep(live, 0) reported false")
	}
}
