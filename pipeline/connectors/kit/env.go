package kit

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/post"
)

// Env is what a connector needs from its surroundings.
type Env struct {
	Store   Store    // cursors; nil keeps them in memory only
	Metrics *Metrics // nil registers on a private registry
	Log     zerolog.Logger
	Now     func() time.Time // nil is time.Now
	Limits  post.Limits
}

// Fill returns e with the nil fields set to their defaults.
func (e Env) Fill() Env {
	if e.Store == nil {
		e.Store = NewMemStore()
	}
	if e.Metrics == nil {
		e.Metrics = NewMetrics(nil)
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	return e
}

// NewKVStore returns a Store on the bucket open returns (the bus's
// ConnectorState), opened on first use (with that call's context), and
// again after a failure.
func NewKVStore(open func(context.Context) (jetstream.KeyValue, error)) Store {
	return &lazyKV{open: open}
}

type lazyKV struct {
	open func(context.Context) (jetstream.KeyValue, error)
	mu   sync.Mutex
	s    Store
}

func (l *lazyKV) get(ctx context.Context) (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		kv, err := l.open(ctx)
		if err != nil {
			return nil, err
		}
		l.s = KVStore(kv)
	}
	return l.s, nil
}

func (l *lazyKV) Load(ctx context.Context, key string, v any) (bool, error) {
	s, err := l.get(ctx)
	if err != nil {
		return false, err
	}
	return s.Load(ctx, key, v)
}

func (l *lazyKV) Save(ctx context.Context, key string, v any) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.Save(ctx, key, v)
}
