package alertsrun

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
)

// ErrFenced means another engine wrote this engine's state: two engines
// work on the same scope (a lease expired under a stalled replica). The
// stage drops its in-memory state and reloads it.
var ErrFenced = errors.New("alert state written by another engine")

// Store keeps one scope's engine state in a KV bucket: a key per brand
// (<scope>.b.<brand>) and the watermark (<scope>.meta). Every write names
// the revision it expects, so two engines cannot silently overwrite each
// other.
type Store struct {
	KV     jetstream.KeyValue
	bus    *bus.Bus
	bucket string
	scope  string
	revs   map[string]uint64
	// Bytes is the size of the last save.
	Bytes int
}

// OpenStore creates (or binds) the engine state bucket (bus.AlertState)
// and returns the store of scope.
func OpenStore(ctx context.Context, b *bus.Bus, bucket, scope string) (*Store, error) {
	kv, err := b.AlertState(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return &Store{KV: kv, bus: b, bucket: bucket, scope: scope, revs: map[string]uint64{}}, nil
}

// Scope is the store's key prefix.
func (s *Store) Scope() string { return s.scope }

func (s *Store) brandKey(b string) string { return s.scope + ".b." + b }
func (s *Store) metaKey() string          { return s.scope + ".meta" }

// Load restores the engine from the bucket and returns the stream sequence
// the stored watermark includes.
func (s *Store) Load(ctx context.Context, e *alerts.Engine) (uint64, error) {
	s.revs = map[string]uint64{}
	lister, err := s.KV.ListKeysFiltered(ctx, s.scope+".>")
	if err != nil {
		return 0, fmt.Errorf("listing alert state %s: %w", s.scope, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var seq uint64
	for _, k := range keys {
		ent, err := s.KV.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("reading alert state %s: %w", k, err)
		}
		s.revs[k] = ent.Revision()
		if k == s.metaKey() {
			if seq, err = e.RestoreMeta(ent.Value()); err != nil {
				return 0, fmt.Errorf("%s: %w", k, err)
			}
			continue
		}
		if !strings.HasPrefix(k, s.scope+".b.") {
			continue
		}
		if err := e.RestoreBrand(ent.Value()); err != nil {
			return 0, fmt.Errorf("%s: %w", k, err)
		}
	}
	return seq, nil
}

// Save writes the brands whose state changed, then the watermark (with
// seq), each expecting the revision it last read or wrote.
func (s *Store) Save(ctx context.Context, e *alerts.Engine, seq uint64) error {
	dirty := e.DirtyBrands()
	type put struct {
		key string
		fut jetstream.PubAckFuture
	}
	s.Bytes = 0
	puts := make([]put, 0, len(dirty)+1)
	send := func(key string, data []byte) error {
		m := nats.NewMsg("$KV." + s.bucket + "." + key)
		m.Data = data
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(s.revs[key], 10))
		f, err := s.bus.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("writing alert state %s: %w", key, err)
		}
		s.Bytes += len(data)
		puts = append(puts, put{key, f})
		return nil
	}
	wait := func() error {
		var first error
		for _, p := range puts {
			select {
			case ack := <-p.fut.Ok():
				s.revs[p.key] = ack.Sequence
			case err := <-p.fut.Err():
				delete(s.revs, p.key)
				if isWrongLastSeq(err) {
					err = fmt.Errorf("%w: %s: %v", ErrFenced, p.key, err)
				}
				if first == nil {
					first = fmt.Errorf("writing alert state %s: %w", p.key, err)
				}
			case <-ctx.Done():
				return fmt.Errorf("writing alert state: %w", ctx.Err())
			}
		}
		puts = puts[:0]
		return first
	}
	for _, b := range dirty {
		data, err := e.EncodeBrand(b)
		if err != nil {
			return err
		}
		if err := send(s.brandKey(b), data); err != nil {
			return err
		}
	}
	if err := wait(); err != nil {
		return err
	}
	e.MarkClean(dirty)
	meta, err := e.EncodeMeta(seq)
	if err != nil {
		return fmt.Errorf("encoding alert engine state: %w", err)
	}
	if err := send(s.metaKey(), meta); err != nil {
		return err
	}
	return wait()
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return strings.Contains(err.Error(), "wrong last sequence")
}
