// Package backoff holds what every retry loop of iwom shares: an
// exponential delay, capped, optionally jittered, and a sleep that ends
// early when its context does.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Delay is the wait before retry attempt (1 for the first): min·2^(attempt-1),
// capped at max when max > 0. A min ≤ 0 gives 0.
func Delay(attempt int, min, max time.Duration) time.Duration {
	if min <= 0 {
		return 0
	}
	d := min
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if max > 0 && d > max {
		d = max
	}
	return d
}

// Jitter returns a random wait in [d/2, d] ("equal jitter": half fixed, half
// random), so that many clients backing off at once do not retry in step.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// Sleep waits d, or less if ctx ends first, and reports whether the whole
// wait passed (false: ctx ended).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
