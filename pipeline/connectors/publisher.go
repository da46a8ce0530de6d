package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/post"
)

// Publisher takes posts from a connector.
type Publisher interface {
	// Publish validates p and publishes it. It may return before JetStream
	// has acknowledged the post; Flush waits for every acknowledgement.
	// An invalid post is dead-lettered and reported with an error wrapping
	// post.ErrInvalid; the caller carries on.
	Publish(ctx context.Context, p *post.Post) error
	// Reject dead-letters raw input that could not even be parsed.
	Reject(ctx context.Context, line int, payload []byte, reason error) error
	// Flush waits until everything published so far is stored.
	Flush(ctx context.Context) error
}

// JetStreamPublisher publishes asynchronously with a bounded window of
// unacknowledged posts, and republishes (with backoff) any post whose
// publish failed, so nothing handed to it is lost while ctx lives.
type JetStreamPublisher struct {
	Bus     *bus.Bus
	Source  string // connector name: posts' source (when empty) and DLQ stage iwom.dlq.<name>
	Limits  post.Limits
	Window  int // unacknowledged posts in flight; 0 means 4096
	Log     zerolog.Logger
	Counter *prometheus.CounterVec // optional: connector, duplicate

	mu        sync.Mutex
	pending   []inflight
	published atomic.Int64
	dups      atomic.Int64
	invalid   atomic.Int64
}

type inflight struct {
	msg *nats.Msg
	fut jetstream.PubAckFuture
}

// Stats are the publisher's counts so far.
type Stats struct {
	Published  int64 `json:"published"`
	Duplicates int64 `json:"duplicates"`
	Invalid    int64 `json:"invalid"`
}

// Stats returns the counts so far.
func (p *JetStreamPublisher) Stats() Stats {
	return Stats{Published: p.published.Load(), Duplicates: p.dups.Load(), Invalid: p.invalid.Load()}
}

// DLQStage is the dead-letter stage of a connector: its name, so bad input
// from the replay connector lands on iwom.dlq.replay.
func DLQStage(name string) string { return name }

// Publish implements Publisher.
func (p *JetStreamPublisher) Publish(ctx context.Context, ps *post.Post) error {
	if err := ps.Validate(p.Limits); err != nil {
		raw, _ := json.Marshal(ps)
		p.invalid.Add(1)
		if derr := p.Bus.DeadLetter(ctx, bus.DeadLetter{Stage: DLQStage(p.Source), Err: err, Source: p.Source, Payload: raw}); derr != nil {
			return fmt.Errorf("dead-lettering invalid post %s: %w", ps.Key(), derr)
		}
		return err
	}
	if ps.CreatedAt.IsZero() {
		p.invalid.Add(1)
		err := fmt.Errorf("%w: missing created_at", post.ErrInvalid)
		raw, _ := json.Marshal(ps)
		if derr := p.Bus.DeadLetter(ctx, bus.DeadLetter{Stage: DLQStage(p.Source), Err: err, Source: p.Source, Payload: raw}); derr != nil {
			return fmt.Errorf("dead-lettering invalid post %s: %w", ps.Key(), derr)
		}
		return err
	}
	if ps.Source == "" {
		ps.Source = p.Source
	}
	if ps.IngestedAt.IsZero() {
		ps.IngestedAt = time.Now().UTC()
	}
	if ps.Version == 0 {
		ps.Version = post.SchemaVersion
	}
	data, err := json.Marshal(ps)
	if err != nil {
		return fmt.Errorf("encoding post %s: %w", ps.Key(), err)
	}
	msg := nats.NewMsg(bus.RawSubject(ps.Platform))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, ps.Key())
	return p.send(ctx, msg)
}

func (p *JetStreamPublisher) window() int {
	if p.Window <= 0 {
		return 4096
	}
	return p.Window
}

func (p *JetStreamPublisher) send(ctx context.Context, msg *nats.Msg) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.pending) >= p.window() {
		if err := p.reapOldest(ctx); err != nil {
			return err
		}
	}
	fut, err := p.publishAsync(ctx, msg)
	if err != nil {
		return err
	}
	p.pending = append(p.pending, inflight{msg, fut})
	return nil
}

// publishAsync starts a publish, waiting (with backoff) while the client's
// own async window is full or the connection is down.
func (p *JetStreamPublisher) publishAsync(ctx context.Context, msg *nats.Msg) (jetstream.PubAckFuture, error) {
	for attempt := 1; ; attempt++ {
		fut, err := p.Bus.JS.PublishMsgAsync(msg)
		if err == nil {
			return fut, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("publishing %s: %w", msg.Subject, ctx.Err())
		}
		if attempt == 1 || attempt%20 == 0 {
			p.Log.Warn().Err(err).Int("attempt", attempt).Msg("publishing post, retrying")
		}
		if !backoff.Sleep(ctx, retryDelay(attempt)) {
			return nil, fmt.Errorf("publishing %s: %w", msg.Subject, ctx.Err())
		}
	}
}

// reapOldest waits for the oldest in-flight publish; on failure it
// republishes synchronously until stored (stream full, NATS restarting…).
func (p *JetStreamPublisher) reapOldest(ctx context.Context) error {
	f := p.pending[0]
	p.pending = p.pending[1:]
	select {
	case ack := <-f.fut.Ok():
		p.count(ack)
		return nil
	case err := <-f.fut.Err():
		return p.republish(ctx, f.msg, err)
	case <-ctx.Done():
		return fmt.Errorf("waiting for publish acknowledgement: %w", ctx.Err())
	}
}

func (p *JetStreamPublisher) republish(ctx context.Context, msg *nats.Msg, cause error) error {
	for attempt := 1; ; attempt++ {
		if attempt == 2 || attempt%20 == 0 {
			p.Log.Warn().Err(cause).Int("attempt", attempt).Str("msg_id", msg.Header.Get(jetstream.MsgIDHeader)).Msg("publish not acknowledged; backing off and republishing")
		}
		// The first retry is immediate: the failure may be old news by the
		// time this message is reaped (the stream had room again).
		if attempt > 1 && !backoff.Sleep(ctx, retryDelay(attempt-1)) {
			return fmt.Errorf("republishing %s: %w", msg.Header.Get(jetstream.MsgIDHeader), ctx.Err())
		}
		m := nats.NewMsg(msg.Subject)
		m.Data, m.Header = msg.Data, msg.Header
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ack, err := p.Bus.JS.PublishMsg(actx, m)
		cancel()
		if err == nil {
			p.count(ack)
			return nil
		}
		cause = err
	}
}

func (p *JetStreamPublisher) count(ack *jetstream.PubAck) {
	dup := ack != nil && ack.Duplicate
	if dup {
		p.dups.Add(1)
	} else {
		p.published.Add(1)
	}
	if p.Counter != nil {
		d := "false"
		if dup {
			d = "true"
		}
		p.Counter.WithLabelValues(p.Source, d).Inc()
	}
}

// Flush implements Publisher.
func (p *JetStreamPublisher) Flush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.pending) > 0 {
		if err := p.reapOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Reject implements Publisher.
func (p *JetStreamPublisher) Reject(ctx context.Context, line int, payload []byte, reason error) error {
	p.invalid.Add(1)
	if err := p.Bus.DeadLetter(ctx, bus.DeadLetter{Stage: DLQStage(p.Source), Err: reason, Source: p.Source, Line: line, Payload: payload}); err != nil {
		return fmt.Errorf("dead-lettering line %d: %w", line, err)
	}
	return nil
}

// retryDelay is the wait before publish retry attempt.
func retryDelay(attempt int) time.Duration {
	return backoff.Delay(attempt, 50*time.Millisecond, 5*time.Second)
}
