package kit

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Tracked is a persisted set of targets a poller follows (posts whose
// comments it reads, articles whose comments it reads), each with the time
// it was added and a value. The oldest go first when it is over Max, and
// entries older than TTL are dropped.
type Tracked[T any] struct {
	Store Store
	Key   string
	Max   int           // 0: no limit
	TTL   time.Duration // 0: forever
	Now   func() time.Time

	mu     sync.Mutex
	loaded bool
	dirty  bool
	items  map[string]TrackedItem[T]
}

// TrackedItem is one entry of a Tracked set.
type TrackedItem[T any] struct {
	ID    string    `json:"id"`
	Added time.Time `json:"added"`
	Value T         `json:"value"`
}

func (t *Tracked[T]) load(ctx context.Context) error {
	if t.loaded {
		return nil
	}
	var list []TrackedItem[T]
	if _, err := t.Store.Load(ctx, t.Key, &list); err != nil {
		return err
	}
	t.items = make(map[string]TrackedItem[T], len(list))
	for _, it := range list {
		t.items[it.ID] = it
	}
	t.loaded = true
	return nil
}

// Add tracks id with v (keeping the original time when already there).
func (t *Tracked[T]) Add(ctx context.Context, id string, v T) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.load(ctx); err != nil {
		return err
	}
	it, ok := t.items[id]
	if !ok {
		it = TrackedItem[T]{ID: id, Added: t.Now()}
	}
	it.Value = v
	t.items[id] = it
	t.dirty = true
	return nil
}

// List returns the live entries, oldest first, after pruning.
func (t *Tracked[T]) List(ctx context.Context) ([]TrackedItem[T], error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.load(ctx); err != nil {
		return nil, err
	}
	out := make([]TrackedItem[T], 0, len(t.items))
	for _, it := range t.items {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Added.Equal(out[j].Added) {
			return out[i].Added.Before(out[j].Added)
		}
		return out[i].ID < out[j].ID
	})
	if t.TTL > 0 {
		cut := t.Now().Add(-t.TTL)
		for len(out) > 0 && out[0].Added.Before(cut) {
			delete(t.items, out[0].ID)
			out = out[1:]
			t.dirty = true
		}
	}
	if t.Max > 0 && len(out) > t.Max {
		for _, it := range out[:len(out)-t.Max] {
			delete(t.items, it.ID)
		}
		out = out[len(out)-t.Max:]
		t.dirty = true
	}
	return out, nil
}

// Save stores the set if it changed.
func (t *Tracked[T]) Save(ctx context.Context) error {
	if _, err := t.List(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.dirty {
		return nil
	}
	list := make([]TrackedItem[T], 0, len(t.items))
	for _, it := range t.items {
		list = append(list, it)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	if err := t.Store.Save(ctx, t.Key, list); err != nil {
		return err
	}
	t.dirty = false
	return nil
}
