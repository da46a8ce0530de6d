package kit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/post"
)

// Health tracks whether a connector is ready: running, and no source
// stopped on an error that needs an operator.
type Health struct {
	mu      sync.Mutex
	running bool
	why     error // why it is not ready while running (servers: not listening)
	stopped map[string]error
	instr   *Instr
}

// NewHealth returns the health of a connector that has not started.
func NewHealth(instr *Instr) *Health { return &Health{stopped: map[string]error{}, instr: instr} }

// SetRunning marks the connector as running or not.
func (h *Health) SetRunning(on bool) {
	h.mu.Lock()
	h.running = on
	h.mu.Unlock()
}

// SetProblem sets (or, with nil, clears) a reason the running connector is
// not ready.
func (h *Health) SetProblem(err error) {
	h.mu.Lock()
	h.why = err
	h.mu.Unlock()
}

// StopSource records that source stopped on err.
func (h *Health) StopSource(source string, err error) {
	h.mu.Lock()
	h.stopped[source] = err
	n := len(h.stopped)
	h.mu.Unlock()
	if h.instr != nil {
		h.instr.Stopped(n)
	}
}

// Ready returns nil when the connector runs and every source works.
func (h *Health) Ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.running:
		return errors.New("not running")
	case h.why != nil:
		return h.why
	case len(h.stopped) > 0:
		names := make([]string, 0, len(h.stopped))
		for n := range h.stopped {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("source %s stopped: %v", n, h.stopped[n])
		}
		return errors.New(strings.Join(parts, "; "))
	}
	return nil
}

// Group is a set of targets polled together on one interval (all user
// timelines, all keyword searches…).
type Group struct {
	Name     string
	Interval time.Duration
	// Cycle fetches every target of the group until caught up (or its
	// per-cycle page budget is spent); it saves cursors as it goes.
	Cycle func(ctx context.Context) error
}

// RunGroups runs the groups. With once, each group runs one cycle, in the
// order given (so that a group can use what an earlier one found, such as
// posts to follow), and RunGroups returns the errors joined. Otherwise
// each group cycles every Interval in its own goroutine; a group whose
// cycle fails with a Fatal error stops and is reported to h, and when
// every group has stopped RunGroups returns their errors. When ctx ends
// RunGroups returns nil: a clean stop (cursors stay where the last
// acknowledged page left them).
func RunGroups(ctx context.Context, groups []Group, once bool, h *Health, log zerolog.Logger) error {
	if once {
		var errs []error
		for _, g := range groups {
			if ctx.Err() != nil {
				return nil
			}
			errs = append(errs, runGroup(ctx, g, true, h, log))
		}
		if ctx.Err() != nil {
			return nil
		}
		return errors.Join(errs...)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(groups))
	for i, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runGroup(ctx, g, once, h, log)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return errors.Join(errs...)
}

func runGroup(ctx context.Context, g Group, once bool, h *Health, log zerolog.Logger) error {
	failing := false
	for {
		err := g.Cycle(ctx)
		switch {
		case err == nil:
			if failing {
				log.Info().Str("source", g.Name).Msg("source recovered")
				failing = false
			}
		case ctx.Err() != nil:
			return nil
		default:
			if c, _ := ClassOf(err); c == Fatal {
				log.Error().Err(err).Str("source", g.Name).Msg("source stopped: fix the configuration or credentials and restart the connector")
				h.StopSource(g.Name, err)
				return fmt.Errorf("polling %s: %w", g.Name, err)
			}
			if once {
				return fmt.Errorf("polling %s: %w", g.Name, err)
			}
			if !failing {
				log.Error().Err(err).Str("source", g.Name).Dur("retry_in", g.Interval).Msg("poll cycle failed; cursors kept, retrying next interval")
			}
			failing = true
		}
		if once {
			return nil
		}
		if !backoff.Sleep(ctx, g.Interval) {
			return nil
		}
	}
}

// Publish hands p to pub and counts it. A post the publisher finds invalid
// (and dead-letters) is counted and skipped; other errors are returned.
func (i *Instr) Publish(ctx context.Context, pub connectors.Publisher, p *post.Post) error {
	err := pub.Publish(ctx, p)
	switch {
	case err == nil:
		i.Post(OutcomePublished)
		return nil
	case errors.Is(err, post.ErrInvalid):
		i.Post(OutcomeInvalid)
		return nil
	default:
		return fmt.Errorf("publishing %s: %w", p.Key(), err)
	}
}
