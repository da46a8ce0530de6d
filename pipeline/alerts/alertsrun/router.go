package alertsrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
)

// The partitioned engine's internal stream, defined in bus with the rest of
// the topology.
const (
	StreamAlertsIn = bus.StreamAlertsIn
	AlertsInPrefix = bus.AlertsInPrefix
)

// AlertsInSubject is the subject of partition k of n.
func AlertsInSubject(n, k int) string {
	return AlertsInPrefix + "n" + strconv.Itoa(n) + ".p" + strconv.Itoa(k)
}

// Routed is one message of the internal stream: a post (In) or a watermark
// tick (every slot up to Tick is complete).
type Routed struct {
	Tick int64         `json:"tick,omitempty"`
	In   *alerts.Input `json:"in,omitempty"`
}

// Router is the stage that splits the enriched stream by brand partition.
// One router runs at a time (it holds the router lease), so each
// partition's messages keep the enriched stream's order, and it computes
// the watermark exactly as a single engine does: a partition engine fed by
// it produces, for its brands, exactly the alerts of a single engine.
type Router struct {
	Bus        *bus.Bus
	Partitions int
	Options    alerts.Options // the engines' Slot, Lateness and MaxSkew
	Store      *Store         // keeps the router's watermark
	Metrics    *alerts.Metrics
	Log        zerolog.Logger
	Valid      func() bool

	mu      sync.Mutex
	loaded  bool
	maxSeen int64
	tick    int64
	probe   *alerts.Engine // the watermark arithmetic of an engine
}

type routerMeta struct {
	MaxSeen int64  `json:"max_seen"`
	Tick    int64  `json:"tick"`
	Seq     uint64 `json:"seq"`
}

// Process implements stage.Stage.
func (r *Router) Process(ctx context.Context, msgs []stage.Msg) []stage.Result {
	return stage.Errs(r.process(ctx, msgs))
}

func (r *Router) process(ctx context.Context, msgs []stage.Msg) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(msgs))
	fail := func(err error) []error { return failRest(errs, err) }
	if r.Valid != nil && !r.Valid() {
		return fail(ErrLeaseLost)
	}
	if !r.loaded {
		if err := r.load(ctx); err != nil {
			return fail(err)
		}
	}
	var outs []bus.Out
	var idx []int // message index of each out (-1: a tick)
	var last uint64
	routed := 0
	for i, m := range msgs {
		seq := m.Seq
		p, err := post.DecodeEnriched(m.Data)
		if err != nil {
			errs[i] = err
			continue
		}
		last = max(last, seq)
		in := alerts.FromEnriched(p)
		if ct := r.probe.EventTime(in).Unix(); ct > r.maxSeen {
			r.maxSeen = ct
			if t := r.probe.TickFor(time.Unix(ct, 0)); t > r.tick {
				r.tick = t
				data, _ := json.Marshal(Routed{Tick: t})
				for k := 0; k < r.Partitions; k++ {
					outs = append(outs, bus.Out{Subject: AlertsInSubject(r.Partitions, k), Data: data, MsgID: "t" + strconv.FormatInt(t, 10) + ".p" + strconv.Itoa(k)})
					idx = append(idx, -1)
				}
			}
		}
		parts := map[int]bool{}
		for _, b := range in.Brands {
			parts[alerts.Partition(b, r.Partitions)] = true
		}
		for k := 0; k < r.Partitions; k++ {
			if !parts[k] {
				continue
			}
			sub := in.Trimmed(func(b string) bool { return alerts.Partition(b, r.Partitions) == k })
			data, err := json.Marshal(Routed{In: sub})
			if err != nil {
				errs[i] = fmt.Errorf("%w: encoding routed post: %v", post.ErrInvalid, err)
				break
			}
			outs = append(outs, bus.Out{Subject: AlertsInSubject(r.Partitions, k), Data: data, MsgID: strconv.FormatUint(seq, 10) + ".p" + strconv.Itoa(k)})
			idx = append(idx, i)
			routed++
		}
	}
	res := r.Bus.PublishAll(ctx, outs)
	var first error
	for j, pr := range res {
		if pr.Err == nil {
			continue
		}
		if first == nil {
			first = pr.Err
		}
		if i := idx[j]; i >= 0 && errs[i] == nil {
			errs[i] = fmt.Errorf("routing post: %w", pr.Err)
		}
	}
	if first != nil {
		// A tick that was not stored fails the whole batch: it is sent
		// again (the stream drops the copies of what was stored).
		r.loaded = false
		return fail(fmt.Errorf("routing alert input: %w", first))
	}
	if r.Metrics != nil {
		r.Metrics.Routed.Add(float64(routed))
	}
	if r.Valid != nil && !r.Valid() {
		return fail(ErrLeaseLost)
	}
	if r.Store != nil {
		if err := r.save(ctx, last); err != nil {
			r.loaded = false
			return fail(err)
		}
	}
	return errs
}

func (r *Router) metaKey() string { return r.Store.Scope() + ".router" }

func (r *Router) load(ctx context.Context) error {
	probe, err := alerts.NewEngine(&alerts.Rules{Version: alerts.RulesVersion}, r.Options)
	if err != nil {
		return err
	}
	r.probe, r.maxSeen, r.tick = probe, math.MinInt64, -1
	if r.Store != nil {
		ent, err := r.Store.KV.Get(ctx, r.metaKey())
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			r.Store.revs[r.metaKey()] = 0
		case err != nil:
			return fmt.Errorf("reading the alert router's state: %w", err)
		default:
			var m routerMeta
			if err := json.Unmarshal(ent.Value(), &m); err != nil {
				return fmt.Errorf("decoding the alert router's state: %w", err)
			}
			r.maxSeen, r.tick = m.MaxSeen, m.Tick
			r.Store.revs[r.metaKey()] = ent.Revision()
		}
	}
	r.loaded = true
	return nil
}

func (r *Router) save(ctx context.Context, seq uint64) error {
	data, err := json.Marshal(routerMeta{MaxSeen: r.maxSeen, Tick: r.tick, Seq: seq})
	if err != nil {
		return fmt.Errorf("encoding the alert router's state: %w", err)
	}
	key := r.metaKey()
	rev, err := r.Store.KV.Update(ctx, key, data, r.Store.revs[key])
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			err = fmt.Errorf("%w: %v", ErrFenced, err)
		}
		return fmt.Errorf("writing the alert router's state: %w", err)
	}
	r.Store.revs[key] = rev
	return nil
}
