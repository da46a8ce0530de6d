package clickhouse

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/sinks/clickhouse/state"
)

// Ledger decides, for each post of a batch, what the sink writes to
// posts_store, from the state store of its key partition:
//
//   - a post the partition never stored: its row (+1);
//   - a newer observation (higher version) of a stored post: a cancel row
//     (-1) of the stored observation and the new row (+1);
//   - a duplicate or an older observation: nothing.
//
// It is exact while it is the only writer of its keys (one sink per key
// partition, one batch at a time) and its store agrees with posts_store:
// Sync brings the store in line at start, Resync after an insert whose
// outcome is unknown, and Commit records a batch only after ClickHouse
// confirmed it.
type Ledger struct {
	Conn  driver.Conn
	DB    string
	Store *state.Store
	// Part and Parts: this sink owns the keys whose hash mod Parts is Part.
	Part, Parts int
	// Margin is how far before the checkpoint Sync looks for rows whose
	// state may not have been committed (clock skew, inserts in flight).
	Margin time.Duration
	Log    zerolog.Logger

	offset time.Duration // ClickHouse clock minus ours
	meta   state.Meta    // what the store mirrors, set by Sync
}

// NewLedger builds the ledger of partition part of parts.
func NewLedger(conn driver.Conn, db string, store *state.Store, part, parts int, log zerolog.Logger) *Ledger {
	if parts < 1 {
		parts = 1
	}
	return &Ledger{Conn: conn, DB: db, Store: store, Part: part, Parts: parts, Margin: 15 * time.Second, Log: log}
}

// PartitionOf is the key partition of a post key among parts.
func PartitionOf(key string, parts int) int {
	if parts <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum64() % uint64(parts))
}

// Owns reports whether the ledger's partition holds key.
func (l *Ledger) Owns(key string) bool { return PartitionOf(key, l.Parts) == l.Part }

func (l *Ledger) partition() string { return strconv.Itoa(l.Part) + "/" + strconv.Itoa(l.Parts) }

// stateColumns are the posts_store columns a state.Record holds, in the
// order scanRecord reads them.
const stateColumns = `platform, id, version, toUInt32(created_at), brands, sentiment_label, sentiment_score,
	brand_sentiment_brands, brand_sentiment_scores, brand_sentiment_labels, author_id, author_followers,
	reposts, comments, likes, keywords, hashtags`

func scanRecord(rows driver.Rows) (string, state.Record, error) {
	var pl, id string
	var r state.Record
	err := rows.Scan(&pl, &id, &r.Version, &r.CreatedAt, &r.Brands, &r.Label, &r.Score,
		&r.BSBrands, &r.BSScores, &r.BSLabels, &r.AuthorID, &r.Followers,
		&r.Reposts, &r.Comments, &r.Likes, &r.Keywords, &r.Hashtags)
	return pl + ":" + id, r, err
}

// serverNow reads ClickHouse's clock and remembers its offset from ours.
func (l *Ledger) serverNow(ctx context.Context) (uint32, error) {
	var now uint32
	if err := l.Conn.QueryRow(ctx, "SELECT toUInt32(now())").Scan(&now); err != nil {
		return 0, fmt.Errorf("reading ClickHouse time: %w", err)
	}
	l.offset = time.Unix(int64(now), 0).Sub(time.Now())
	return now, nil
}

// checkpoint is a ClickHouse time before which every insert of this
// process has finished: now on ClickHouse's clock, less the margin.
func (l *Ledger) checkpoint() uint32 {
	t := time.Now().Add(l.offset).Add(-l.Margin).Unix()
	if t < 0 {
		return 0
	}
	return uint32(t)
}

func (l *Ledger) epoch(ctx context.Context) (string, error) {
	var e string
	if err := l.Conn.QueryRow(ctx, "SELECT min(epoch) FROM "+l.DB+".ledger_epoch").Scan(&e); err != nil {
		return "", fmt.Errorf("reading %s.ledger_epoch: %w", l.DB, err)
	}
	return e, nil
}

// Sync brings the state store in line with posts_store: a full load when
// the store mirrors another database or partition or was never completed,
// else the keys of every row inserted since the store's checkpoint (less
// the margin) are read again. It returns how many records it loaded.
func (l *Ledger) Sync(ctx context.Context) (int, error) {
	epoch, err := l.epoch(ctx)
	if err != nil {
		return 0, err
	}
	now, err := l.serverNow(ctx)
	if err != nil {
		return 0, err
	}
	m, err := l.Store.Meta()
	if err != nil {
		return 0, err
	}
	if m.Epoch != epoch || m.Partition != l.partition() || !m.Complete {
		return l.fullLoad(ctx, epoch, now)
	}
	since := int64(m.Checkpoint) - int64(l.Margin.Seconds())
	if since < 0 {
		since = 0
	}
	// One query: the live rows of every key inserted since then.
	q := "SELECT " + stateColumns + " FROM " + l.DB + ".posts_store FINAL WHERE sign = 1 AND (platform, id) IN " +
		"(SELECT platform, id FROM " + l.DB + ".posts_store WHERE inserted_at >= toDateTime(?))"
	keys, err := l.load(ctx, "reading posts inserted since the state checkpoint", q, uint32(since))
	if err != nil {
		return 0, err
	}
	b := l.Store.NewBatch()
	l.meta = state.Meta{Epoch: epoch, Partition: l.partition(), Complete: true, Checkpoint: m.Checkpoint}
	if err := b.SetMeta(l.meta); err != nil {
		b.Abort()
		return 0, err
	}
	if err := b.Commit(); err != nil {
		return 0, err
	}
	l.Log.Info().Int("keys", keys).Uint32("since", uint32(since)).Msg("sink state caught up with ClickHouse")
	return keys, nil
}

// fullLoad replaces the store with the live rows of posts_store.
func (l *Ledger) fullLoad(ctx context.Context, epoch string, now uint32) (int, error) {
	start := time.Now()
	if err := l.Store.Reset(); err != nil {
		return 0, err
	}
	n, err := l.load(ctx, "loading the sink state from "+l.DB+".posts_store", "SELECT "+stateColumns+" FROM "+l.DB+".posts_store FINAL WHERE sign = 1")
	if err != nil {
		return 0, err
	}
	b := l.Store.NewBatch()
	ck := int64(now) - int64(l.Margin.Seconds())
	if ck < 0 {
		ck = 0
	}
	l.meta = state.Meta{Epoch: epoch, Partition: l.partition(), Complete: true, Checkpoint: uint32(ck)}
	if err := b.SetMeta(l.meta); err != nil {
		b.Abort()
		return 0, err
	}
	if err := b.Commit(); err != nil {
		return 0, err
	}
	if err := l.Store.Flush(); err != nil {
		return 0, fmt.Errorf("flushing the sink state: %w", err)
	}
	l.Log.Info().Int("posts", n).Dur("took", time.Since(start)).Str("partition", l.partition()).Msg("sink state loaded from ClickHouse")
	return n, nil
}

// load runs q (live rows of posts_store, stateColumns) and puts the
// records of the partition's keys into the store, committing every 20,000.
// It returns how many it put.
func (l *Ledger) load(ctx context.Context, what, q string, args ...any) (int, error) {
	rows, err := l.Conn.Query(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	b := l.Store.NewBatch()
	n := 0
	for rows.Next() {
		k, r, err := scanRecord(rows)
		if err != nil {
			b.Abort()
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		if !l.Owns(k) {
			continue
		}
		if err := b.Put(k, r); err != nil {
			b.Abort()
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		n++
		if b.Len() >= 20000 {
			if err := b.Commit(); err != nil {
				return 0, err
			}
			b = l.Store.NewBatch()
		}
	}
	if err := rows.Err(); err != nil {
		b.Abort()
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, b.Commit()
}

// Resync reads the live rows of keys from posts_store into the store (and
// forgets keys that have none): after an insert whose outcome is unknown.
func (l *Ledger) Resync(ctx context.Context, keys []string) error {
	return l.resync(ctx, keys, nil)
}

func (l *Ledger) resync(ctx context.Context, keys []string, meta *state.Meta) error {
	b := l.Store.NewBatch()
	for len(keys) > 0 {
		n := min(len(keys), 2000)
		chunk := keys[:n]
		keys = keys[n:]
		set := ch.GroupSet{}
		for _, k := range chunk {
			pl, id := splitKey(k)
			set.Value = append(set.Value, ch.GroupSet{Value: []any{pl, id}})
		}
		rows, err := l.Conn.Query(ctx, "SELECT "+stateColumns+" FROM "+l.DB+".posts_store FINAL WHERE (platform, id) IN ? AND sign = 1", set)
		if err != nil {
			b.Abort()
			return fmt.Errorf("reading stored posts: %w", err)
		}
		found := map[string]state.Record{}
		for rows.Next() {
			k, r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				b.Abort()
				return fmt.Errorf("reading stored posts: %w", err)
			}
			if old, ok := found[k]; !ok || r.Version > old.Version {
				found[k] = r
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			b.Abort()
			return fmt.Errorf("reading stored posts: %w", err)
		}
		for _, k := range chunk {
			var err error
			if r, ok := found[k]; ok {
				err = b.Put(k, r)
			} else {
				err = b.Delete(k)
			}
			if err != nil {
				b.Abort()
				return fmt.Errorf("updating the sink state: %w", err)
			}
		}
	}
	if meta != nil {
		if err := b.SetMeta(*meta); err != nil {
			b.Abort()
			return err
		}
	}
	return b.Commit()
}

func splitKey(k string) (platform, id string) {
	for i := 0; i < len(k); i++ {
		if k[i] == ':' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// Plan returns, for the posts of a batch, the changes to write: one per
// post that is new or newer than what is stored, with the stored
// observation to cancel. Within the batch the latest observation of a
// post wins. at maps each change back to its index in rows; the other
// rows need no write (a duplicate, an older observation, or one
// superseded in the same batch).
func (l *Ledger) Plan(rows []*post.Enriched) (changes []Change, at []int, err error) {
	best := map[string]int{}
	var keys []string
	for i, r := range rows {
		k := r.Key()
		j, ok := best[k]
		if !ok {
			keys = append(keys, k)
			best[k] = i
			continue
		}
		if rowVersion(r) > rowVersion(rows[j]) {
			best[k] = i
		}
	}
	stored, err := l.Store.Get(keys)
	if err != nil {
		return nil, nil, err
	}
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, best[k])
	}
	sort.Ints(idx)
	for _, i := range idx {
		r := rows[i]
		old, ok := stored[r.Key()]
		switch {
		case !ok:
			changes = append(changes, Change{New: r})
		case rowVersion(r) > old.Version:
			o := old
			changes = append(changes, Change{New: r, Old: &o})
		default:
			continue
		}
		at = append(at, i)
	}
	return changes, at, nil
}

// Commit records stored changes in the state store, with the checkpoint.
func (l *Ledger) Commit(changes []Change) error {
	b := l.Store.NewBatch()
	for _, c := range changes {
		if err := b.Put(c.New.Key(), RecordOf(c.New)); err != nil {
			b.Abort()
			return fmt.Errorf("updating the sink state: %w", err)
		}
	}
	l.meta.Checkpoint = l.checkpoint()
	if err := b.SetMeta(l.meta); err != nil {
		b.Abort()
		return err
	}
	return b.Commit()
}
