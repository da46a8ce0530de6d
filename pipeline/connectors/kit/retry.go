package kit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/rs/zerolog"
)

// Class says what a connector does about a failed platform call.
type Class int

const (
	// Transient failures (network errors, 5xx, system busy, malformed
	// answers) are retried with back-off a bounded number of times.
	Transient Class = iota
	// RateLimited answers are retried after an exponential, jittered,
	// capped back-off, without limit: the quota comes back.
	RateLimited
	// Paused waits until Error.Until (a daily quota's reset), then retries.
	Paused
	// Skip gives up on one target (a deleted post, no comment privilege)
	// for this cycle; the source carries on with the others.
	Skip
	// Fatal stops the source: an operator must act (expired or invalid
	// token, IP not whitelisted).
	Fatal
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case RateLimited:
		return "rate-limited"
	case Paused:
		return "paused"
	case Skip:
		return "skip"
	case Fatal:
		return "fatal"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified platform error.
type Error struct {
	Class Class
	Kind  string    // metrics label of iwom_connector_errors_total
	Until time.Time // Paused: when to try again
	// Quiet marks what happens now and then in normal operation (an ok:0
	// page): retried without a warning.
	Quiet bool
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errf builds a classified error.
func Errf(class Class, kind, format string, args ...any) *Error {
	return &Error{Class: class, Kind: kind, Err: fmt.Errorf(format, args...)}
}

// ClassOf returns the class of err, and false when err is not classified.
func ClassOf(err error) (Class, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Class, true
	}
	return 0, false
}

// Backoff is an exponential back-off: Min·2^(n-1), capped at Max, with
// "equal jitter" (half of the delay fixed, half random), so that many
// clients backing off at once do not retry in step.
type Backoff struct {
	Min, Max time.Duration
}

// Delay is the wait before retry n (1 for the first).
func (b Backoff) Delay(n int) time.Duration {
	return backoff.Jitter(backoff.Delay(n, b.Min, b.Max))
}

// Retry calls platform operations of one source, backing off on
// classified errors and recording the back-off state.
type Retry struct {
	Source    string  // metrics label and log field
	RateLimit Backoff // for RateLimited answers
	Transient Backoff // for Transient failures
	Attempts  int     // tries of a Transient failure before giving up (at least 1)
	Instr     *Instr
	Log       zerolog.Logger
	Now       func() time.Time
}

// Do calls fn until it succeeds, backing off on RateLimited, Paused and
// (Attempts times) Transient errors. Skip, Fatal and unclassified errors
// are returned at once, as is the last Transient one.
func (r *Retry) Do(ctx context.Context, what string, fn func(context.Context) error) error {
	transient, limited := 0, 0
	waited, warned := false, false // back-off gauge set; warning logged
	reset := func() {
		if waited {
			r.Instr.Backoff(r.Source, 0)
		}
	}
	for {
		err := fn(ctx)
		if err == nil {
			reset()
			if warned {
				r.Log.Info().Str("source", r.Source).Msg("platform answers again; resuming")
			}
			return nil
		}
		if ctx.Err() != nil {
			reset()
			return ctx.Err()
		}
		var pe *Error
		if !errors.As(err, &pe) {
			reset()
			return err
		}
		r.Instr.Error(pe.Kind)
		var d time.Duration
		switch pe.Class {
		case RateLimited:
			limited++
			d = r.RateLimit.Delay(limited)
		case Paused:
			now := time.Now
			if r.Now != nil {
				now = r.Now
			}
			d = pe.Until.Sub(now())
		case Transient:
			transient++
			if transient >= max(r.Attempts, 1) {
				reset()
				return fmt.Errorf("%s: giving up after %d attempts: %w", what, transient, err)
			}
			d = r.Transient.Delay(transient)
		default:
			reset()
			return err
		}
		if !pe.Quiet && (!warned || (limited+transient)%20 == 0) {
			r.Log.Warn().Err(err).Str("source", r.Source).Str("class", pe.Class.String()).Dur("backoff", d).Msg(what + "; backing off")
			warned = true
		}
		waited = true
		r.Instr.Backoff(r.Source, d)
		if !backoff.Sleep(ctx, d) {
			reset()
			return ctx.Err()
		}
	}
}
