package kit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors"
)

// Policy is the request, retry and back-off configuration every poller
// has; a Config embeds it with `mapstructure:",squash"`.
type Policy struct {
	Timeout    time.Duration `mapstructure:"timeout"`     // per request
	BackoffMin time.Duration `mapstructure:"backoff_min"` // rate-limit back-off
	BackoffMax time.Duration `mapstructure:"backoff_max"`
	RetryMin   time.Duration `mapstructure:"retry_min"` // transient failures
	RetryMax   time.Duration `mapstructure:"retry_max"`
	Retries    int           `mapstructure:"retries"` // attempts of a transient failure per request
}

// Validate checks the values and names the bad key.
func (p *Policy) Validate() error {
	switch {
	case p.Timeout <= 0:
		return fmt.Errorf("timeout: must be positive")
	case p.BackoffMin <= 0 || p.BackoffMax < p.BackoffMin:
		return fmt.Errorf("backoff_min, backoff_max: need 0 < backoff_min <= backoff_max")
	case p.RetryMin <= 0 || p.RetryMax < p.RetryMin:
		return fmt.Errorf("retry_min, retry_max: need 0 < retry_min <= retry_max")
	case p.Retries < 1:
		return fmt.Errorf("retries: must be at least 1")
	}
	return nil
}

// Retry is the Retry of one source under the policy.
func (p *Policy) Retry(source string, instr *Instr, log zerolog.Logger, now func() time.Time) *Retry {
	return &Retry{
		Source:    source,
		RateLimit: Backoff{Min: p.BackoffMin, Max: p.BackoffMax},
		Transient: Backoff{Min: p.RetryMin, Max: p.RetryMax},
		Attempts:  p.Retries,
		Instr:     instr,
		Log:       log,
		Now:       now,
	}
}

// Poll runs a poller's groups (see RunGroups) with its health set to
// running, then flushes what was published, even when ctx has ended.
func Poll(ctx context.Context, pub connectors.Publisher, groups []Group, once bool, h *Health, log zerolog.Logger) error {
	h.SetRunning(true)
	defer h.SetRunning(false)
	err := RunGroups(ctx, groups, once, h, log)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ferr := pub.Flush(fctx); ferr != nil && err == nil {
		err = fmt.Errorf("flushing posts: %w", ferr)
	}
	return err
}

// Each calls fn for each target of a cycle in turn. A target the platform
// refuses (Skip) is logged and passed over; a Fatal error ends the cycle
// at once; other failures are collected and returned, joined, after every
// target had its turn (so that one broken target does not starve the
// others).
func Each[T any](ctx context.Context, targets []T, log zerolog.Logger, name func(T) string, fn func(context.Context, T) error) error {
	var errs []error
	for _, t := range targets {
		err := fn(ctx, t)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch c, _ := ClassOf(err); c {
		case Skip:
			log.Warn().Err(err).Str("target", name(t)).Msg("platform refuses this target; skipped this cycle")
		case Fatal:
			return err
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Reject dead-letters a raw item that could not be mapped, and counts it.
func (i *Instr) Reject(ctx context.Context, pub connectors.Publisher, raw []byte, reason error) error {
	i.Error("malformed")
	i.Post(OutcomeInvalid)
	if err := pub.Reject(ctx, 0, raw, reason); err != nil {
		return fmt.Errorf("dead-lettering a malformed item: %w", err)
	}
	return nil
}
