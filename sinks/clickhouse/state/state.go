// Package state is the ClickHouse sink's state store: for every post its
// key partition has stored, the values of its live row in posts_store that
// the rollups read (the row the sink must cancel when the post is observed
// again). It is an embedded Pebble database under the sink's data
// directory, so a lookup costs the same at 1 M and at 100 M stored posts and
// memory stays bounded by Pebble's cache.
//
// The store is a cache of ClickHouse, never a second truth: the sink
// commits a batch's records only after ClickHouse confirmed its insert, and
// at start it brings the store back in line with what posts_store holds
// (Meta records which database epoch it mirrors and up to when it is
// complete; see sinks/clickhouse.Syncer).
package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/cockroachdb/pebble"
)

// Record is what the sink keeps of a post's live row: its version, its
// created_at and every column the rollups' materialized views read.
type Record struct {
	Version   uint64
	CreatedAt uint32 // Unix seconds (DateTime)
	Brands    []string
	Label     string
	Score     float32
	BSBrands  []string
	BSScores  []float32
	BSLabels  []string
	AuthorID  string
	Followers uint64
	Reposts   uint64
	Comments  uint64
	Likes     uint64
	Keywords  []string
	Hashtags  []string
}

// Meta says what the store mirrors.
type Meta struct {
	// Epoch identifies the ClickHouse database (its ledger_epoch row).
	Epoch string
	// Partition is "k/n": the key partition the store belongs to.
	Partition string
	// Complete is set once a full load from ClickHouse finished.
	Complete bool
	// Checkpoint (ClickHouse server time, Unix seconds): every row
	// inserted into posts_store before it is reflected in the store.
	Checkpoint uint32
}

// Store is the state store.
type Store struct {
	db *pebble.DB
}

var metaKey = []byte("\xffmeta")

const recPrefix = 'p'

// Open opens (creating it when missing) the store in dir. cacheBytes
// bounds Pebble's block cache (0: 32 MiB).
func Open(dir string, cacheBytes int64) (*Store, error) {
	if cacheBytes <= 0 {
		cacheBytes = 32 << 20
	}
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref()
	db, err := pebble.Open(dir, &pebble.Options{Cache: cache, Logger: quietLogger{}, MemTableSize: 16 << 20})
	if err != nil {
		return nil, fmt.Errorf("opening the sink state store in %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

func recKey(key string) []byte {
	b := make([]byte, 0, len(key)+1)
	return append(append(b, recPrefix), key...)
}

// Get returns the records of keys that the store holds.
func (s *Store) Get(keys []string) (map[string]Record, error) {
	out := make(map[string]Record, len(keys))
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for _, k := range sorted {
		v, closer, err := s.db.Get(recKey(k))
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the state of %s: %w", k, err)
		}
		r, derr := Decode(v)
		closer.Close()
		if derr != nil {
			return nil, fmt.Errorf("decoding the state of %s: %w", k, derr)
		}
		out[k] = r
	}
	return out, nil
}

// Batch is a set of changes committed together.
type Batch struct {
	b *pebble.Batch
}

// NewBatch starts a batch of changes.
func (s *Store) NewBatch() *Batch { return &Batch{b: s.db.NewBatch()} }

// Put sets the record of key.
func (b *Batch) Put(key string, r Record) error { return b.b.Set(recKey(key), Encode(r), nil) }

// Delete forgets key.
func (b *Batch) Delete(key string) error { return b.b.Delete(recKey(key), nil) }

// SetMeta writes m with the batch.
func (b *Batch) SetMeta(m Meta) error { return b.b.Set(metaKey, encodeMeta(m), nil) }

// Len is the number of changes in the batch.
func (b *Batch) Len() int { return int(b.b.Count()) }

// Commit applies the batch atomically. It does not wait for the disk: a
// lost tail is caught up from ClickHouse by the checkpoint it carries.
func (b *Batch) Commit() error {
	if err := b.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("committing the sink state: %w", err)
	}
	return b.b.Close()
}

// Abort drops the batch.
func (b *Batch) Abort() { _ = b.b.Close() }

// Meta reads the store's meta (zero when never written).
func (s *Store) Meta() (Meta, error) {
	v, closer, err := s.db.Get(metaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return Meta{}, nil
	}
	if err != nil {
		return Meta{}, fmt.Errorf("reading the sink state meta: %w", err)
	}
	defer closer.Close()
	return decodeMeta(v)
}

// Reset deletes every record and the meta, synchronously.
func (s *Store) Reset() error {
	if err := s.db.DeleteRange([]byte{0}, []byte{0xff, 0xff}, pebble.Sync); err != nil {
		return fmt.Errorf("clearing the sink state: %w", err)
	}
	return nil
}

// Flush makes every committed batch durable.
func (s *Store) Flush() error { return s.db.Flush() }

// Count returns the number of records (a scan: for tests and status).
func (s *Store) Count() (int, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{recPrefix}, UpperBound: []byte{recPrefix + 1}})
	if err != nil {
		return 0, err
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n, it.Close()
}

// Encode serialises a record.
func Encode(r Record) []byte {
	b := make([]byte, 0, 128)
	b = binary.AppendUvarint(b, r.Version)
	b = binary.AppendUvarint(b, uint64(r.CreatedAt))
	b = appendStrings(b, r.Brands)
	b = appendString(b, r.Label)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(r.Score))
	b = appendStrings(b, r.BSBrands)
	b = binary.AppendUvarint(b, uint64(len(r.BSScores)))
	for _, f := range r.BSScores {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	b = appendStrings(b, r.BSLabels)
	b = appendString(b, r.AuthorID)
	for _, n := range []uint64{r.Followers, r.Reposts, r.Comments, r.Likes} {
		b = binary.AppendUvarint(b, n)
	}
	b = appendStrings(b, r.Keywords)
	return appendStrings(b, r.Hashtags)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

var errCorrupt = errors.New("corrupt record")

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.err = errCorrupt
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.err != nil || uint64(len(r.b)) < n {
		r.err = errCorrupt
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) strs() []string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errCorrupt
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

// Decode parses a record written by Encode.
func Decode(b []byte) (Record, error) {
	r := reader{b: b}
	var x Record
	x.Version = r.uvarint()
	x.CreatedAt = uint32(r.uvarint())
	x.Brands = r.strs()
	x.Label = r.str()
	x.Score = math.Float32frombits(r.u32())
	x.BSBrands = r.strs()
	n := r.uvarint()
	if r.err == nil && n <= uint64(len(r.b))/4 {
		x.BSScores = make([]float32, n)
		for i := range x.BSScores {
			x.BSScores[i] = math.Float32frombits(r.u32())
		}
	} else if r.err == nil {
		r.err = errCorrupt
	}
	x.BSLabels = r.strs()
	x.AuthorID = r.str()
	x.Followers, x.Reposts, x.Comments, x.Likes = r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()
	x.Keywords = r.strs()
	x.Hashtags = r.strs()
	if r.err == nil && len(r.b) != 0 {
		r.err = errCorrupt
	}
	return x, r.err
}

func encodeMeta(m Meta) []byte {
	b := appendString(nil, m.Epoch)
	b = appendString(b, m.Partition)
	c := uint64(0)
	if m.Complete {
		c = 1
	}
	b = binary.AppendUvarint(b, c)
	return binary.AppendUvarint(b, uint64(m.Checkpoint))
}

func decodeMeta(b []byte) (Meta, error) {
	r := reader{b: b}
	m := Meta{Epoch: r.str(), Partition: r.str(), Complete: r.uvarint() == 1, Checkpoint: uint32(r.uvarint())}
	if r.err != nil {
		return Meta{}, fmt.Errorf("decoding the sink state meta: %w", r.err)
	}
	return m, nil
}

// quietLogger drops Pebble's informational logs; errors surface as
// returned errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{})  {}
func (quietLogger) Errorf(string, ...interface{}) {}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
