package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/analyzers/normalize"
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
	// Store validates and publishes ps and waits for JetStream's answer to
	// each, for doors that answer a client: "accepted" means stored.
	Store(ctx context.Context, ps []*post.Post) []Stored
}

// Stored is what became of one post handed to Store.
type Stored struct {
	// Duplicate: JetStream already held a post with this key within its
	// duplicate window, so this one was not stored (an update of the same
	// id sent within the window is dropped: send it again after it).
	Duplicate bool
	// Err is nil when stored (or a duplicate), wraps post.ErrInvalid when
	// the post was refused (and dead-lettered), and is another error when
	// JetStream did not confirm it: the client may send it again.
	Err error
}

// JetStreamPublisher publishes asynchronously with a bounded window of
// unacknowledged posts, and republishes (with backoff) any post whose
// publish failed, so nothing handed to it is lost while ctx lives.
type JetStreamPublisher struct {
	Bus    *bus.Bus
	Source string // connector name: posts' source (when empty) and DLQ stage iwom.dlq.<name>
	Limits post.Limits
	// RawMax and EnrichedMax are the message size limits of the raw and
	// the enriched streams; a post that cannot fit either is refused as
	// invalid. 0 takes them from the bus configuration.
	RawMax, EnrichedMax int
	Window              int // unacknowledged posts in flight; 0 means 4096
	Log                 zerolog.Logger
	Counter             *prometheus.CounterVec // optional: connector, duplicate

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

// Publish implements Publisher.
func (p *JetStreamPublisher) Publish(ctx context.Context, ps *post.Post) error {
	msg, err := p.prepare(ps)
	if err != nil {
		return p.refuse(ctx, ps, err)
	}
	return p.send(ctx, msg)
}

type lineKey struct{}

// WithLine tells the publisher which line of its input the next post came
// from, for the dead letter should it be refused.
func WithLine(ctx context.Context, line int) context.Context {
	return context.WithValue(ctx, lineKey{}, line)
}

// LineOf is the line WithLine put in ctx, or 0.
func LineOf(ctx context.Context) int {
	n, _ := ctx.Value(lineKey{}).(int)
	return n
}

// refuse dead-letters a post that can never be stored and returns why.
func (p *JetStreamPublisher) refuse(ctx context.Context, ps *post.Post, reason error) error {
	if !errors.Is(reason, post.ErrInvalid) {
		return reason
	}
	raw, _ := json.Marshal(ps)
	p.invalid.Add(1)
	if derr := p.Bus.DeadLetter(ctx, bus.DeadLetter{Stage: p.Source, Err: reason, Source: p.Source, Line: LineOf(ctx), Payload: raw}); derr != nil {
		return fmt.Errorf("dead-lettering invalid post %s: %w", ps.Key(), derr)
	}
	return reason
}

// prepare validates ps, stamps it with the server's time of publication
// (whatever a client sent as ingested_at: clients do not set server time)
// and encodes it, refusing it when its raw or its enriched form could not
// fit their streams.
func (p *JetStreamPublisher) prepare(ps *post.Post) (*nats.Msg, error) {
	if err := ps.Validate(p.Limits); err != nil {
		return nil, err
	}
	if ps.Source == "" {
		ps.Source = p.Source
	}
	ps.IngestedAt = p.now().UTC()
	if ps.Version == 0 {
		ps.Version = post.SchemaVersion
	}
	data, err := json.Marshal(ps)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding post %s: %v", post.ErrInvalid, ps.Key(), err)
	}
	if err := p.fits(data, ps.Text); err != nil {
		return nil, err
	}
	msg := nats.NewMsg(bus.RawSubject(ps.Platform))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, ps.Key())
	return msg, nil
}

// fits checks the encoded raw post against the raw stream's limit, and a
// bound of its enriched form (post.EnrichedBound) against the enriched
// stream's, normalising the text only when the cheap bound does not do.
func (p *JetStreamPublisher) fits(data []byte, text string) error {
	rawMax, enrMax := p.RawMax, p.EnrichedMax
	if rawMax == 0 && p.Bus != nil {
		rawMax, enrMax = bus.MaxMsgSizes(p.Bus.Config())
	}
	if rawMax > 0 && len(data)+post.HeaderAllowance > rawMax {
		return fmt.Errorf("%w: %w: the encoded post is %d bytes, over the raw stream's limit of %d", post.ErrInvalid, post.ErrTooLarge, len(data), rawMax-post.HeaderAllowance)
	}
	if enrMax <= 0 || post.EnrichedBoundFast(len(data), len(text))+post.HeaderAllowance <= enrMax {
		return nil
	}
	norm := normalize.Simplified(normalize.Text(text))
	if b := post.EnrichedBound(len(data), norm); b+post.HeaderAllowance > enrMax {
		return fmt.Errorf("%w: %w: the enriched post could reach %d bytes (text %d bytes), over the enriched stream's limit of %d", post.ErrInvalid, post.ErrTooLarge, b, len(text), enrMax-post.HeaderAllowance)
	}
	return nil
}

func (p *JetStreamPublisher) now() time.Time {
	if p.Limits.Now != nil {
		return p.Limits.Now()
	}
	return time.Now()
}

// Store implements Publisher. It waits for what was published before it
// too, so that a post it reports stored is behind every earlier one.
func (p *JetStreamPublisher) Store(ctx context.Context, ps []*post.Post) []Stored {
	out := make([]Stored, len(ps))
	futs := make([]jetstream.PubAckFuture, len(ps))
	for i, x := range ps {
		msg, err := p.prepare(x)
		if err != nil {
			out[i].Err = p.refuse(ctx, x, err)
			continue
		}
		fut, err := p.Bus.PublishMsgAsync(msg)
		if err != nil {
			out[i].Err = fmt.Errorf("publishing %s: %w: %w", x.Key(), bus.ErrNotStored, err)
			continue
		}
		futs[i] = fut
	}
	for i, fut := range futs {
		if fut == nil {
			continue
		}
		select {
		case ack := <-fut.Ok():
			p.count(ack)
			out[i].Duplicate = ack != nil && ack.Duplicate
		case err := <-fut.Err():
			out[i].Err = fmt.Errorf("publishing %s: %w", ps[i].Key(), bus.Classify(err))
		case <-ctx.Done():
			out[i].Err = fmt.Errorf("publishing %s: %w: %w", ps[i].Key(), bus.ErrNotStored, ctx.Err())
		}
	}
	return out
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
		fut, err := p.Bus.PublishMsgAsync(msg)
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
		if cerr := bus.Classify(err); errors.Is(cerr, post.ErrInvalid) {
			return p.refuseMsg(ctx, f.msg, cerr)
		}
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
		ack, err := p.Bus.PublishMsg(actx, m)
		cancel()
		if err == nil {
			p.count(ack)
			return nil
		}
		if cerr := bus.Classify(err); errors.Is(cerr, post.ErrInvalid) {
			return p.refuseMsg(ctx, m, cerr)
		}
		cause = err
	}
}

// refuseMsg dead-letters a published message that its stream can never
// hold (a limit lowered under a running publisher): retrying cannot help.
func (p *JetStreamPublisher) refuseMsg(ctx context.Context, msg *nats.Msg, reason error) error {
	p.invalid.Add(1)
	p.Log.Warn().Err(reason).Str("msg_id", msg.Header.Get(jetstream.MsgIDHeader)).Msg("post refused by its stream; dead-lettered")
	if err := p.Bus.DeadLetter(ctx, bus.DeadLetter{Stage: p.Source, Err: reason, Source: p.Source, Payload: msg.Data}); err != nil {
		return fmt.Errorf("dead-lettering %s: %w", msg.Header.Get(jetstream.MsgIDHeader), err)
	}
	return nil
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
	if err := p.Bus.DeadLetter(ctx, bus.DeadLetter{Stage: p.Source, Err: reason, Source: p.Source, Line: line, Payload: payload}); err != nil {
		return fmt.Errorf("dead-lettering line %d: %w", line, err)
	}
	return nil
}

// retryDelay is the wait before publish retry attempt.
func retryDelay(attempt int) time.Duration {
	return backoff.Delay(attempt, 50*time.Millisecond, 5*time.Second)
}
