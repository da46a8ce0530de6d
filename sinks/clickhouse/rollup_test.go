package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/post"
)

var hour0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// rpost is a post for the rollup tests.
func rpost(id string, at time.Time, brands []string, label string, observed time.Time) *post.Enriched {
	score := map[string]float64{post.Positive: 0.7, post.Neutral: 0, post.Negative: -0.6}[label]
	return &post.Enriched{
		Post: post.Post{Platform: "weibo", ID: id, Text: "text " + id, URL: "https://weibo.com/u/" + id, CreatedAt: at, IngestedAt: observed,
			Author: post.Author{ID: "a" + id[len(id)-1:], Name: "name" + id, Followers: 100}, Metrics: post.Metrics{Reposts: 1, Comments: 2, Likes: 3}},
		Keywords: []string{"冰箱门", "客服"}, Hashtags: []string{"西门子冰箱门"}, Brands: brands,
		Sentiment: post.Sentiment{Score: score, Label: label}, EnrichedAt: observed,
	}
}

func migrated(t *testing.T, db string) (*Writer, *Builder) {
	t.Helper()
	conn := connect(t, db)
	if _, err := Migrate(context.Background(), conn, db, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	return NewWriter(conn, db), NewBuilder(conn, db)
}

func insert(t *testing.T, w *Writer, rows ...*post.Enriched) {
	t.Helper()
	if bad, err := w.Insert(context.Background(), rows); err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
}

func checkExact(t *testing.T, b *Builder) {
	t.Helper()
	ms, err := CheckRollups(context.Background(), b.Conn, b.DB, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if i < 20 {
			t.Errorf("%v", m)
		}
	}
}

// The rollups equal direct counts on iwom.posts however often a post is
// delivered, re-observed with new engagement, or re-enriched into another
// label or brand (its old group must disappear), and rebuilding is
// idempotent.
func TestRollupsExactUnderRedeliveryAndUpdates(t *testing.T) {
	ctx := context.Background()
	w, b := migrated(t, "rollup_test")
	t1 := hour0.Add(time.Minute)
	var rows []*post.Enriched
	for i := 0; i < 40; i++ {
		label := []string{post.Positive, post.Neutral, post.Negative}[i%3]
		at := hour0.Add(time.Duration(i*7) * time.Minute) // spans several hours and 5-minute buckets
		p := rpost(fmt.Sprintf("p%02d", i), at, []string{"siemens"}, label, t1)
		if i%4 == 0 {
			p.Brands = []string{"siemens", "cocacola"}
			p.BrandSentiment = []post.BrandSentiment{{Brand: "siemens", Score: -0.9, Label: post.Negative}, {Brand: "cocacola", Score: 0.8, Label: post.Positive}}
		}
		if i%5 == 0 {
			p.Platform = "wechat"
		}
		p.Metrics.Reposts = int64(i * 3 % 17)
		rows = append(rows, p)
	}
	insert(t, w, rows...)
	var ts []time.Time
	for _, r := range rows {
		ts = append(ts, r.CreatedAt)
	}
	if err := b.Rebuild(ctx, ts); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)

	// The same posts again (a redelivered batch) and a rebuild: unchanged.
	insert(t, w, rows[:25]...)
	if err := b.Rebuild(ctx, ts); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)
	var posts uint64
	if err := b.Conn.QueryRow(ctx, "SELECT sum(posts) FROM rollup_test.volume_5m WHERE brand = 'siemens'").Scan(&posts); err != nil {
		t.Fatal(err)
	}
	if posts != 40 {
		t.Errorf("siemens volume %d, want 40", posts)
	}

	// A later observation: more reposts, another label, one brand fewer.
	t2 := t1.Add(time.Hour)
	later := rpost("p03", rows[3].CreatedAt, []string{"cocacola"}, post.Positive, t2)
	later.Metrics.Reposts = 999
	insert(t, w, later)
	if err := b.Rebuild(ctx, []time.Time{later.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)
	if err := b.Conn.QueryRow(ctx, "SELECT sum(posts) FROM rollup_test.volume_5m WHERE brand = 'siemens'").Scan(&posts); err != nil {
		t.Fatal(err)
	}
	if posts != 39 {
		t.Errorf("siemens volume %d after p03 moved to cocacola, want 39", posts)
	}
	var top string
	if err := b.Conn.QueryRow(ctx, "SELECT id FROM rollup_test.top_posts_1h ORDER BY reposts DESC LIMIT 1").Scan(&top); err != nil || top != "p03" {
		t.Errorf("top post %q (%v), want p03", top, err)
	}

	// Rebuilding again changes nothing.
	if err := b.Rebuild(ctx, ts); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)
}

// Posts inserted without a rebuild (another writer, a crash) are found by
// Stale through rollup_dirty and rebuilt by Sweep.
func TestSweepRebuildsDirtyHours(t *testing.T) {
	ctx := context.Background()
	w, b := migrated(t, "sweep_test")
	insert(t, w, rpost("s1", hour0.Add(10*time.Minute), []string{"siemens"}, post.Negative, hour0),
		rpost("s2", hour0.Add(3*time.Hour), []string{"nike"}, post.Positive, hour0))
	stale, err := b.Stale(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 2 || !stale[0].Equal(hour0) || !stale[1].Equal(hour0.Add(3*time.Hour)) {
		t.Fatalf("stale hours %v, want %v and %v", stale, hour0, hour0.Add(3*time.Hour))
	}
	n, left, err := b.Sweep(ctx, 1)
	if err != nil || n != 1 || left != 1 {
		t.Fatalf("sweep: %d rebuilt, %d left, %v", n, left, err)
	}
	b.Margin = -time.Hour // only hours never built (the sweep's margin keeps fresh ones stale a minute)
	if stale, err = b.Stale(ctx); err != nil || len(stale) != 1 || !stale[0].Equal(hour0) {
		t.Fatalf("after sweeping the newest hour, stale %v (%v), want %v", stale, err, hour0)
	}
	b.Margin = time.Minute
	if _, _, err := b.Sweep(ctx, 0); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)
	// Hours rebuilt long after their last mark are no longer stale.
	b.Margin = -time.Hour
	if stale, err = b.Stale(ctx); err != nil || len(stale) != 0 {
		t.Errorf("stale after sweep: %v (%v)", stale, err)
	}
}

// CheckRollups itself notices a wrong rollup.
func TestCheckRollupsFindsDifferences(t *testing.T) {
	ctx := context.Background()
	w, b := migrated(t, "check_test")
	insert(t, w, rpost("c1", hour0, []string{"siemens"}, post.Negative, hour0))
	if err := b.Rebuild(ctx, []time.Time{hour0}); err != nil {
		t.Fatal(err)
	}
	// A second post the rollups never saw.
	if err := b.Conn.Exec(ctx, "DROP TABLE check_test.rollup_dirty_mv"); err != nil {
		t.Fatal(err)
	}
	insert(t, w, rpost("c2", hour0, []string{"siemens"}, post.Negative, hour0))
	var n1, n2 uint64
	_ = b.Conn.QueryRow(ctx, "SELECT count() FROM check_test.posts").Scan(&n1)
	_ = b.Conn.QueryRow(ctx, "SELECT sum(posts) FROM check_test.volume_5m").Scan(&n2)
	if n1 != 2 || n2 != 1 {
		t.Fatalf("iwom.posts has %d posts, volume_5m %d; want 2 and 1", n1, n2)
	}
	ms, err := CheckRollups(ctx, b.Conn, "check_test", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m.Rollup] = true
	}
	for _, r := range []string{"volume_5m", "authors_1h", "terms_1h", "top_posts_1h"} {
		if !seen[r] {
			t.Errorf("no mismatch reported for %s: %v", r, ms)
		}
	}
}

// sinkInsert does what the sink stage does with a batch: look up moves,
// insert, rebuild the hours of the rows and of the moves.
func sinkInsert(t *testing.T, w *Writer, b *Builder, rows ...*post.Enriched) []Move {
	t.Helper()
	ctx := context.Background()
	moves, err := b.Prepare(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	insert(t, w, rows...)
	var ts []time.Time
	for _, r := range rows {
		ts = append(ts, r.CreatedAt)
	}
	for _, m := range moves {
		ts = append(ts, m.OldAt, m.NewAt)
	}
	if err := b.Rebuild(ctx, ts); err != nil {
		t.Fatal(err)
	}
	return moves
}

// A post observed again at another created_at (a generator re-run with
// another --end, a corrected clock) counts once, at its latest time — and
// an older observation arriving late does not move it back.
func TestRollupsFollowMovedPosts(t *testing.T) {
	ctx := context.Background()
	w, b := migrated(t, "moves_test")
	t1 := hour0.Add(time.Minute)
	var first []*post.Enriched
	for i := 0; i < 30; i++ {
		first = append(first, rpost(fmt.Sprintf("m%02d", i), hour0.Add(time.Duration(i*4)*time.Minute), []string{"siemens"}, post.Negative, t1))
	}
	if m := sinkInsert(t, w, b, first...); len(m) != 0 {
		t.Fatalf("moves on first insert: %v", m)
	}
	// The same posts, observed later, 90 minutes later in created_at.
	var again []*post.Enriched
	for _, p := range first {
		q := *p
		q.CreatedAt, q.IngestedAt = p.CreatedAt.Add(90*time.Minute), t1.Add(time.Hour)
		again = append(again, &q)
	}
	if m := sinkInsert(t, w, b, again...); len(m) != 30 {
		t.Fatalf("%d moves, want 30", len(m))
	}
	checkExact(t, b)
	// Hours rebuilt alone later still drop the superseded rows.
	if err := b.Rebuild(ctx, []time.Time{hour0, hour0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)
	// A late copy of the first observation: iwom.posts keeps the later one.
	if m := sinkInsert(t, w, b, first[:5]...); len(m) != 5 || !m[0].NewAt.Equal(again[0].CreatedAt) {
		t.Fatalf("late copies: moves %v", m)
	}
	checkExact(t, b)
	var posts uint64
	if err := b.Conn.QueryRow(ctx, "SELECT sum(posts) FROM moves_test.volume_5m WHERE brand = 'siemens'").Scan(&posts); err != nil || posts != 30 {
		t.Errorf("siemens volume %d (%v), want 30", posts, err)
	}
	// The sink dies after recording a move and inserting it, before the
	// rebuild; the redelivered copy finds no move any more, but the hour
	// the post left was marked, so the sweep rebuilds it.
	crash := rpost("m50", hour0.Add(5*time.Hour), []string{"siemens"}, post.Negative, t1)
	sinkInsert(t, w, b, crash)
	moved := *crash
	moved.CreatedAt, moved.IngestedAt = crash.CreatedAt.Add(2*time.Hour), t1.Add(time.Hour)
	time.Sleep(1100 * time.Millisecond) // the mark lands in a later second than the last build
	if m, err := b.Prepare(ctx, []*post.Enriched{&moved}); err != nil || len(m) != 1 {
		t.Fatalf("prepare: %v %v", m, err)
	}
	insert(t, w, &moved)
	if m := sinkInsert(t, w, b, &moved); len(m) != 0 {
		t.Fatalf("the redelivered copy found moves: %v", m)
	}
	b.Margin = -time.Second // marked strictly after the last build
	stale, err := b.Stale(ctx)
	found := false
	for _, h := range stale {
		found = found || h.Equal(crash.CreatedAt.Truncate(time.Hour))
	}
	if err != nil || !found {
		t.Fatalf("stale %v (%v), want the hour the post left, %v", stale, err, crash.CreatedAt.Truncate(time.Hour))
	}
	if _, _, err := b.Sweep(ctx, 0); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)
	// A recorded move whose insert never happened drops nothing.
	lost := rpost("m99", hour0.Add(3*time.Hour), []string{"siemens"}, post.Negative, t1)
	insert(t, w, lost)
	ghost := *lost
	ghost.CreatedAt, ghost.IngestedAt = lost.CreatedAt.Add(time.Hour), t1.Add(2*time.Hour)
	if m, err := b.Prepare(ctx, []*post.Enriched{&ghost}); err != nil || len(m) != 1 {
		t.Fatalf("prepare: %v %v", m, err)
	}
	if err := b.Rebuild(ctx, []time.Time{lost.CreatedAt, ghost.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	checkExact(t, b)
}
