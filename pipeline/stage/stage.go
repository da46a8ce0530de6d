// Package stage runs a pipeline stage: it pulls batches from a durable
// JetStream consumer, hands them to the Stage, publishes what the Stage
// asks for, and acks, holds, retries or dead-letters each message by what
// the Stage reported.
//
// Stages do not see NATS. A Stage gets a batch of Msg (body, subject,
// stream sequence, deliveries) and returns, per message, the messages to
// publish and an error. The runner alone talks to JetStream: it keeps the
// batch in progress while the stage works, publishes the outputs and waits
// until their streams have stored them, runs the stage's Commit step (when
// it has one), and only then acks.
//
// Errors: nil means done. An error wrapping post.ErrInvalid means the
// message can never succeed: it goes to iwom.dlq.<stage> at once. An error
// wrapping ErrUnavailable (or bus.ErrNotStored) means something the stage
// needs is unavailable (ClickHouse down, a stream full): the message is
// held in progress and processed again, with backoff, however long it
// takes. Any other error is retried by redelivery, until the message has
// been delivered max_deliver times, then dead-lettered.
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

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/metrics"
	"github.com/iwom/iwom/pipeline/post"
)

// Msg is one message handed to a stage.
type Msg struct {
	Subject   string
	Data      []byte
	Header    Header
	Seq       uint64 // stream sequence
	Delivered uint64 // deliveries so far, 1 the first time
}

// Header holds a message's headers.
type Header map[string][]string

// Get returns the first value of key, or "".
func (h Header) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Out is a message a stage asks the runner to publish.
type Out struct {
	Subject string
	Data    []byte
	MsgID   string // for JetStream de-duplication; empty for none
	Header  Header
}

// Result is a stage's answer for one message: what to publish for it, or
// why it failed.
type Result struct {
	Outs []Out
	Err  error
}

// Stage processes batches of messages.
type Stage interface {
	// Process handles msgs and returns one Result per message, in order.
	Process(ctx context.Context, msgs []Msg) []Result
}

// Committer is a Stage with a step that runs once the outputs of a batch
// are stored and before its messages are acked (the alert engine saves its
// state there). An error fails every message of the batch that had none.
type Committer interface {
	Commit(ctx context.Context, msgs []Msg, res []Result) error
}

// ErrUnavailable marks a message that failed because something it needs
// is unavailable for now: the runner holds it and processes it again.
var ErrUnavailable = errors.New("unavailable")

// Func adapts a function to Stage.
type Func func(ctx context.Context, msgs []Msg) []Result

// Process calls f.
func (f Func) Process(ctx context.Context, msgs []Msg) []Result { return f(ctx, msgs) }

// Errs is a Result per error, without outputs: for stages that publish
// nothing.
func Errs(errs []error) []Result {
	out := make([]Result, len(errs))
	for i, err := range errs {
		out[i].Err = err
	}
	return out
}

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
	Parallel int
	// HoldMin and HoldMax bound the backoff while messages are held for
	// something unavailable (default 100ms to 5s).
	HoldMin, HoldMax time.Duration
	Bus              *bus.Bus
	Metrics          *metrics.Stage
	Log              zerolog.Logger
	StatsEvery       time.Duration

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
func (r *Runner) handle(ctx context.Context, jmsgs []jetstream.Msg, maxDeliver uint64) {
	pctx, cancel := graceContext(ctx, r.Grace)
	defer cancel()
	start := time.Now()
	m := r.Metrics
	if m != nil {
		m.Received.WithLabelValues(r.Name).Add(float64(len(jmsgs)))
		m.BatchSize.WithLabelValues(r.Name).Observe(float64(len(jmsgs)))
	}
	msgs := make([]Msg, len(jmsgs))
	for i, jm := range jmsgs {
		msgs[i] = Msg{Subject: jm.Subject(), Data: jm.Data(), Header: Header(jm.Headers()), Delivered: 1}
		if md, err := jm.Metadata(); err == nil && md != nil {
			msgs[i].Seq, msgs[i].Delivered = md.Sequence.Stream, md.NumDelivered
		}
	}
	// The batch stays in progress while the stage works on it, however
	// long it holds it, so that JetStream does not redeliver it meanwhile.
	stopKeepAlive := r.keepAlive(jmsgs)
	res := r.safeProcess(pctx, msgs)
	r.hold(pctx, msgs, res)
	r.publish(pctx, res)
	if c, ok := r.Stage.(Committer); ok {
		if err := c.Commit(pctx, msgs, res); err != nil {
			for i := range res {
				if res[i].Err == nil {
					res[i].Err = fmt.Errorf("committing the batch: %w", err)
				}
			}
		}
	}
	stopKeepAlive()
	for i, msg := range jmsgs {
		err := res[i].Err
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
		delivered, seq := msgs[i].Delivered, msgs[i].Seq
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

// keepAlive marks msgs in progress every third of ack_wait until the
// returned function is called.
func (r *Runner) keepAlive(msgs []jetstream.Msg) func() {
	every := r.Bus.Config().AckWait / 3
	if every <= 0 {
		every = 10 * time.Second
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// publish publishes the outputs of every message that succeeded and waits
// until their streams store them. An output its stream can never hold
// fails its message as invalid; outputs JetStream did not store are
// published again, with backoff, until stored or ctx ends.
func (r *Runner) publish(ctx context.Context, res []Result) {
	type pending struct {
		msg int
		out bus.Out
	}
	var todo []pending
	for i, x := range res {
		if x.Err != nil {
			continue
		}
		for _, o := range x.Outs {
			todo = append(todo, pending{i, bus.Out{Subject: o.Subject, Data: o.Data, MsgID: o.MsgID, Header: nats.Header(o.Header)}})
		}
	}
	for attempt := 1; len(todo) > 0; attempt++ {
		outs := make([]bus.Out, len(todo))
		for j, p := range todo {
			outs[j] = p.out
		}
		var again []pending
		var first error
		for j, pr := range r.Bus.PublishAll(ctx, outs) {
			switch err := pr.Err; {
			case err == nil:
			case errors.Is(err, post.ErrInvalid):
				if res[todo[j].msg].Err == nil {
					res[todo[j].msg].Err = err
				}
			default:
				again = append(again, todo[j])
				if first == nil {
					first = err
				}
			}
		}
		todo = again
		if len(todo) == 0 {
			return
		}
		if attempt == 1 || attempt%20 == 0 {
			r.Log.Warn().Err(first).Int("outputs", len(todo)).Int("attempt", attempt).Msg("output not stored; holding the messages and retrying")
		}
		if !backoff.Sleep(ctx, backoff.Delay(attempt, 100*time.Millisecond, 5*time.Second)) {
			for _, p := range todo {
				if res[p.msg].Err == nil {
					res[p.msg].Err = fmt.Errorf("publishing to %s: %w: %w", p.out.Subject, bus.ErrNotStored, ctx.Err())
				}
			}
			return
		}
	}
}

// Action is what the runner does with a message after its stage answered.
type Action int

// Actions.
const (
	Ack        Action = iota // done: its output is durable
	DeadLetter               // permanent: to iwom.dlq.<stage> at once
	Hold                     // something unavailable: kept in progress and processed again in place
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
	case held(err):
		return Hold
	case delivered >= maxDeliver:
		return DeadLetter
	default:
		return Retry
	}
}

// held reports whether err says something the message needs is
// unavailable for now (ErrUnavailable, or its output not stored).
func held(err error) bool {
	return errors.Is(err, bus.ErrNotStored) || errors.Is(err, ErrUnavailable)
}

// hold processes again, in place, the messages the stage could not
// process for want of something unavailable (ClickHouse down, a full
// stream): they are fine, so they are neither dead-lettered nor left to
// count deliveries; they stay in progress and are retried with backoff
// (HoldMin to HoldMax) until they go through or ctx ends (then they are
// nak'ed for redelivery).
func (r *Runner) hold(ctx context.Context, msgs []Msg, res []Result) {
	lo, hi := r.HoldMin, r.HoldMax
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi < lo {
		hi = max(lo, 5*time.Second)
	}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		var idx []int
		for i, x := range res {
			if x.Err != nil && !errors.Is(x.Err, post.ErrInvalid) && held(x.Err) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return
		}
		if attempt == 1 || attempt%20 == 0 {
			r.Log.Warn().Err(res[idx[0]].Err).Int("messages", len(idx)).Int("attempt", attempt).Msg("unavailable; holding the messages and retrying")
		}
		if !backoff.Sleep(ctx, backoff.Delay(attempt, lo, hi)) {
			return
		}
		sub := make([]Msg, len(idx))
		for j, i := range idx {
			sub[j] = msgs[i]
		}
		for j, x := range r.safeProcess(ctx, sub) {
			res[idx[j]] = x
		}
	}
}

// safeProcess turns a panic in the stage into an error for every message of
// the batch, so that a poison message is retried and then dead-lettered
// instead of crashing the process.
func (r *Runner) safeProcess(ctx context.Context, msgs []Msg) (res []Result) {
	defer func() {
		if p := recover(); p != nil {
			r.Log.Error().Interface("panic", p).Str("stack", string(debug.Stack())).Msg("stage panicked; batch will be retried")
			res = make([]Result, len(msgs))
			for i := range res {
				res[i].Err = fmt.Errorf("stage %s panicked: %v", r.Name, p)
			}
		}
	}()
	res = r.Stage.Process(ctx, msgs)
	if len(res) != len(msgs) {
		panic(fmt.Sprintf("stage %s returned %d results for %d messages", r.Name, len(res), len(msgs)))
	}
	return res
}

func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}
