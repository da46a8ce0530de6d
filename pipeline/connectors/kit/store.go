package kit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Store keeps small JSON documents (cursors, followed posts) by key.
type Store interface {
	// Load decodes the document at key into v; found is false when there
	// is none (v is then untouched).
	Load(ctx context.Context, key string, v any) (found bool, err error)
	// Save stores v as JSON at key.
	Save(ctx context.Context, key string, v any) error
}

// KVStore returns a Store on a KV bucket (the bus's connector state
// bucket, bus.ConnectorStateBucket).
func KVStore(kv jetstream.KeyValue) Store { return &kvStore{kv: kv} }

type kvStore struct{ kv jetstream.KeyValue }

func (s *kvStore) Load(ctx context.Context, key string, v any) (bool, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading cursor %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return false, fmt.Errorf("decoding cursor %s: %w", key, err)
	}
	return true, nil
}

func (s *kvStore) Save(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding cursor %s: %w", key, err)
	}
	if _, err := s.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("saving cursor %s: %w", key, err)
	}
	return nil
}

// MemStore is a Store in memory, for tests and for running without state.
type MemStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

// Load implements Store.
func (s *MemStore) Load(_ context.Context, key string, v any) (bool, error) {
	s.mu.Lock()
	data, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}

// Save implements Store.
func (s *MemStore) Save(_ context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.m[key] = data
	s.mu.Unlock()
	return nil
}

// Key joins parts into a KV key. Parts made only of ASCII letters, digits,
// '-' and '_' are kept as they are; others (keywords in Chinese, URLs) are
// written as '=' and their unpadded URL-safe base64, so that every key is
// valid and distinct.
func Key(parts ...string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if plainKeyPart(p) {
			out[i] = p
		} else {
			out[i] = "=" + base64.RawURLEncoding.EncodeToString([]byte(p))
		}
	}
	return strings.Join(out, ".")
}

func plainKeyPart(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
