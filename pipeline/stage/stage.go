// Package stage runs a pipeline stage: it pulls batches from a durable
// JetStream consumer, hands them to the Stage, and acks, retries or
// dead-letters each message by what the Stage reported.
//
// The contract is deliberately small: a Stage gets a batch and returns one
// error per message. nil means the message's output is durable (published
// and acknowledged by its stream, or inserted) and it may be acked. An error
// wrapping post.ErrInvalid means the message can never succeed and goes to
// iwom.dlq.<stage> at once; any other error is retried (with backoff) until
// the message has been delivered max_deliver times, then dead-lettered.
package stage

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/metrics"
	"github.com/iwom/iwom/pipeline/post"
)

// Stage processes batches of messages.
type Stage interface {
	// Process handles msgs and returns one error per message, in order.
	Process(ctx context.Context, msgs []jetstream.Msg) []error
}

// Func adapts a function to Stage.
type Func func(ctx context.Context, msgs []jetstream.Msg) []error

// Process calls f.
func (f Func) Process(ctx context.Context, msgs []jetstream.Msg) []error { return f(ctx, msgs) }

// Runner pulls from one durable consumer and drives a Stage.
type Runner struct {
	Name          string        // stage name: the durable consumer and iwom.dlq.<Name>
	Stream        string        // stream to consume
	Subject       string        // filter subject
	Stage         Stage         //
	Batch         int           // messages per pull
	Wait          time.Duration // longest wait for a pull to fill
	MaxAckPending int           // 0: 4 × Batch
	Grace         time.Duration // time to finish an in-flight batch after ctx ends
	// Parallel pull loops on the consumer (default 2), so that one batch is
	// processed while another waits for its output to be acknowledged.
	Parallel   int
	Bus        *bus.Bus
	Metrics    *metrics.Stage
	Log        zerolog.Logger
	StatsEvery time.Duration

	processed atomic.Int64
	bound     atomic.Bool
}

// Bound reports whether the consumer exists and the runner is pulling.
func (r *Runner) Bound() bool { return r.bound.Load() }

// Processed is how many messages the runner has acked (including dead letters).
func (r *Runner) Processed() int64 { return r.processed.Load() }

// Run consumes until ctx ends, then finishes the batch in hand and returns.
func (r *Runner) Run(ctx context.Context) error {
	if r.Batch <= 0 {
		r.Batch = 100
	}
	if r.Wait <= 0 {
		r.Wait = time.Second
	}
	if r.MaxAckPending <= 0 {
		r.MaxAckPending = 4 * r.Batch
	}
	if r.Grace <= 0 {
		r.Grace = 30 * time.Second
	}
	cc := r.Bus.ConsumerConfig(r.Name, r.Subject, r.MaxAckPending)
	var cons jetstream.Consumer
	for {
		var err error
		cons, err = r.Bus.Consumer(ctx, r.Stream, cc)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		r.Log.Warn().Err(err).Msg("binding consumer, retrying")
		if !backoff.Sleep(ctx, 2*time.Second) {
			return nil
		}
	}
	r.bound.Store(true)
	defer r.bound.Store(false)

	stats := newStatsLogger(r.Log, r.StatsEvery)
	n := r.Parallel
	if n <= 0 {
		n = 2
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(first bool) {
			defer wg.Done()
			var st *statsLogger
			if first {
				st = stats
			}
			r.loop(ctx, cons, st)
		}(i == 0)
	}
	wg.Wait()
	stats.final(r.processed.Load())
	return nil
}

// loop pulls and handles batches until ctx ends. Only one loop logs stats.
func (r *Runner) loop(ctx context.Context, cons jetstream.Consumer, stats *statsLogger) {
	maxDeliver := uint64(r.Bus.Config().MaxDeliver)
	failures := 0
	for ctx.Err() == nil {
		if stats != nil {
			stats.maybeLog(r.processed.Load())
		}
		msgs, err := fetch(cons, r.Batch, r.Wait)
		if err != nil && len(msgs) == 0 {
			if ctx.Err() != nil {
				break
			}
			failures++
			if failures > 3 {
				r.Log.Warn().Err(err).Msg("pulling messages, retrying")
			}
			backoff.Sleep(ctx, backoff.Delay(failures, 100*time.Millisecond, 5*time.Second))
			continue
		}
		failures = 0
		if len(msgs) == 0 {
			continue
		}
		// The stage label lets a CPU profile attribute time per stage.
		pprof.Do(ctx, pprof.Labels("stage", r.Name), func(ctx context.Context) {
			r.handle(ctx, msgs, maxDeliver)
		})
	}
}

func fetch(cons jetstream.Consumer, n int, wait time.Duration) ([]jetstream.Msg, error) {
	b, err := cons.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, err
	}
	msgs := make([]jetstream.Msg, 0, n)
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return msgs, err
	}
	return msgs, nil
}

// handle processes one batch. The stage gets a context that outlives ctx by
// the grace period, so that a shutdown finishes the batch in hand.
func (r *Runner) handle(ctx context.Context, msgs []jetstream.Msg, maxDeliver uint64) {
	pctx, cancel := graceContext(ctx, r.Grace)
	defer cancel()
	start := time.Now()
	m := r.Metrics
	if m != nil {
		m.Received.WithLabelValues(r.Name).Add(float64(len(msgs)))
		m.BatchSize.WithLabelValues(r.Name).Observe(float64(len(msgs)))
	}
	errs := r.safeProcess(pctx, msgs)
	r.retryUnstored(pctx, msgs, errs)
	for i, msg := range msgs {
		err := errs[i]
		if err == nil {
			_ = msg.Ack()
			r.processed.Add(1)
			if m != nil {
				m.Processed.WithLabelValues(r.Name).Inc()
			}
			continue
		}
		if m != nil {
			m.Failed.WithLabelValues(r.Name).Inc()
		}
		md, _ := msg.Metadata()
		var delivered uint64 = 1
		var seq uint64
		if md != nil {
			delivered, seq = md.NumDelivered, md.Sequence.Stream
		}
		if Decide(err, delivered, maxDeliver) == DeadLetter {
			if !errors.Is(err, post.ErrInvalid) {
				err = fmt.Errorf("giving up after %d deliveries: %w", delivered, err)
			}
			dl := bus.DeadLetter{Stage: r.Name, Err: err, Subject: msg.Subject(), StreamSeq: seq, Deliveries: delivered, Payload: msg.Data()}
			if derr := r.Bus.DeadLetter(pctx, dl); derr != nil {
				// Not stored in the DLQ: leave it to be redelivered.
				r.Log.Error().Err(derr).Uint64("stream_seq", seq).Msg("dead-lettering failed; message will be redelivered")
				_ = msg.NakWithDelay(time.Second)
				continue
			}
			_ = msg.Term()
			r.processed.Add(1)
			if m != nil {
				m.DeadLettered.WithLabelValues(r.Name).Inc()
				m.Processed.WithLabelValues(r.Name).Inc()
			}
			continue
		}
		r.Log.Debug().Err(err).Uint64("stream_seq", seq).Uint64("delivered", delivered).Msg("processing failed, will retry")
		_ = msg.NakWithDelay(backoff.Delay(int(delivered), 200*time.Millisecond, 10*time.Second))
	}
	if m != nil {
		m.BatchSeconds.WithLabelValues(r.Name).Observe(time.Since(start).Seconds())
	}
}

// Action is what the runner does with a message after its stage answered.
type Action int

// Actions.
const (
	Ack        Action = iota // done: its output is durable
	DeadLetter               // permanent: to iwom.dlq.<stage> at once
	Hold                     // output not stored: kept in progress and retried in place
	Retry                    // failed: redelivered later, dead-lettered after max_deliver
)

// Decide classifies a stage's answer for one message delivered delivered
// times. A permanent error (wrapping post.ErrInvalid) is never retried,
// even when it also says not stored; a message whose output JetStream did
// not store is held however often it was delivered; any other error is
// retried until max_deliver.
func Decide(err error, delivered, maxDeliver uint64) Action {
	switch {
	case err == nil:
		return Ack
	case errors.Is(err, post.ErrInvalid):
		return DeadLetter
	case errors.Is(err, bus.ErrNotStored):
		return Hold
	case delivered >= maxDeliver:
		return DeadLetter
	default:
		return Retry
	}
}

// retryUnstored re-processes, in place, the messages whose output
// JetStream did not store (a full stream downstream, a server restart):
// the messages are fine, so they are neither dead-lettered nor left to
// count deliveries; they are kept in progress and retried with backoff
// until stored or ctx ends (then they are nak'ed for redelivery).
func (r *Runner) retryUnstored(ctx context.Context, msgs []jetstream.Msg, errs []error) {
	for attempt := 1; ctx.Err() == nil; attempt++ {
		var idx []int
		for i, err := range errs {
			if Decide(err, 1, 2) == Hold {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return
		}
		if attempt == 1 || attempt%20 == 0 {
			r.Log.Warn().Err(errs[idx[0]]).Int("messages", len(idx)).Int("attempt", attempt).Msg("output not stored; holding the messages and retrying")
		}
		for _, i := range idx {
			_ = msgs[i].InProgress()
		}
		if !backoff.Sleep(ctx, backoff.Delay(attempt, 100*time.Millisecond, 5*time.Second)) {
			return
		}
		sub := make([]jetstream.Msg, len(idx))
		for j, i := range idx {
			sub[j] = msgs[i]
		}
		for j, err := range r.safeProcess(ctx, sub) {
			errs[idx[j]] = err
		}
	}
}

// safeProcess turns a panic in the stage into an error for every message of
// the batch, so that a poison message is retried and then dead-lettered
// instead of crashing the process.
func (r *Runner) safeProcess(ctx context.Context, msgs []jetstream.Msg) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			r.Log.Error().Interface("panic", p).Str("stack", string(debug.Stack())).Msg("stage panicked; batch will be retried")
			errs = make([]error, len(msgs))
			for i := range errs {
				errs[i] = fmt.Errorf("stage %s panicked: %v", r.Name, p)
			}
		}
	}()
	errs = r.Stage.Process(ctx, msgs)
	if len(errs) != len(msgs) {
		panic(fmt.Sprintf("stage %s returned %d results for %d messages", r.Name, len(errs), len(msgs)))
	}
	return errs
}

func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}
