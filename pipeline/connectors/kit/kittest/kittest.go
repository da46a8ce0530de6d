// Package kittest has test doubles for connector tests: a Publisher that
// keeps what it is given in memory, with hooks to make it slow or fail.
package kittest

import (
	"context"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/post"
)

// Rejection is a raw item a connector dead-lettered.
type Rejection struct {
	Line    int
	Payload []byte
	Reason  error
}

// Publisher is a connectors.Publisher in memory. It validates posts as
// the JetStream publisher does.
type Publisher struct {
	Limits post.Limits
	// FlushHook, when set, runs at each Flush (to block or fail it).
	FlushHook func(ctx context.Context) error

	mu       sync.Mutex
	posts    []*post.Post
	seen     map[string]bool
	rejected []Rejection
	flushes  int
}

// SetFlushHook replaces FlushHook while the publisher is in use.
func (p *Publisher) SetFlushHook(h func(ctx context.Context) error) {
	p.mu.Lock()
	p.FlushHook = h
	p.mu.Unlock()
}

// Publish implements connectors.Publisher.
func (p *Publisher) Publish(_ context.Context, ps *post.Post) error {
	if err := ps.Validate(p.Limits); err != nil {
		p.mu.Lock()
		p.rejected = append(p.rejected, Rejection{Reason: err})
		p.mu.Unlock()
		return err
	}
	cp := *ps
	p.mu.Lock()
	p.posts = append(p.posts, &cp)
	p.mu.Unlock()
	return nil
}

// Store implements connectors.Publisher: each post is published as by
// Publish, and a key seen before is reported a duplicate. The flush hook
// runs once, as it would wait for JetStream; its error fails every post.
func (p *Publisher) Store(ctx context.Context, ps []*post.Post) []connectors.Stored {
	out := make([]connectors.Stored, len(ps))
	p.mu.Lock()
	hook := p.FlushHook
	p.mu.Unlock()
	if hook != nil {
		if err := hook(ctx); err != nil {
			for i := range out {
				out[i].Err = err
			}
			return out
		}
	}
	for i, x := range ps {
		p.mu.Lock()
		_, dup := p.seen[x.Key()]
		p.mu.Unlock()
		if err := p.Publish(ctx, x); err != nil {
			out[i].Err = err
			continue
		}
		p.mu.Lock()
		if p.seen == nil {
			p.seen = map[string]bool{}
		}
		p.seen[x.Key()] = true
		p.mu.Unlock()
		out[i].Duplicate = dup
	}
	return out
}

// Reject implements connectors.Publisher.
func (p *Publisher) Reject(_ context.Context, line int, payload []byte, reason error) error {
	p.mu.Lock()
	p.rejected = append(p.rejected, Rejection{Line: line, Payload: payload, Reason: reason})
	p.mu.Unlock()
	return nil
}

// Flush implements connectors.Publisher.
func (p *Publisher) Flush(ctx context.Context) error {
	p.mu.Lock()
	p.flushes++
	hook := p.FlushHook
	p.mu.Unlock()
	if hook != nil {
		return hook(ctx)
	}
	return nil
}

// Posts returns what was published, in order.
func (p *Publisher) Posts() []*post.Post {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*post.Post(nil), p.posts...)
}

// Rejected returns what was dead-lettered.
func (p *Publisher) Rejected() []Rejection {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Rejection(nil), p.rejected...)
}

// ByKey returns the last post published under each key.
func (p *Publisher) ByKey() map[string]*post.Post {
	out := map[string]*post.Post{}
	for _, ps := range p.Posts() {
		out[ps.Key()] = ps
	}
	return out
}

// Keys returns the distinct keys published, sorted.
func (p *Publisher) Keys() []string {
	m := p.ByKey()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Counter reads a counter (or gauge) of reg with the given labels.
func Counter(reg *prometheus.Registry, name string, labels map[string]string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
		}
	}
	return 0
}
