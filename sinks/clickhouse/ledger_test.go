package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/sinks/clickhouse/state"
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

// sink is what the sink stage does with a batch, without NATS: plan from
// the state store, write, commit.
type sink struct {
	t    *testing.T
	conn driver.Conn
	db   string
	dir  string
	w    *Writer
	l    *Ledger
}

func newSink(t *testing.T, db string) *sink {
	t.Helper()
	conn := connect(t, db)
	if _, err := Migrate(context.Background(), conn, db, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	s := &sink{t: t, conn: conn, db: db, dir: t.TempDir(), w: NewWriter(conn, db)}
	s.open()
	t.Cleanup(func() { _ = s.l.Store.Close() })
	return s
}

// open opens the state store (again) and syncs it with ClickHouse.
func (s *sink) open() {
	s.t.Helper()
	st, err := state.Open(s.dir, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	s.l = NewLedger(s.conn, s.db, st, 0, 1, zerolog.Nop())
	if _, err := s.l.Sync(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

// restart closes the store and opens it again, as a restarted sink does.
func (s *sink) restart() {
	s.t.Helper()
	if err := s.l.Store.Close(); err != nil {
		s.t.Fatal(err)
	}
	s.open()
}

// write stores rows and returns how many changes it wrote.
func (s *sink) write(rows ...*post.Enriched) int {
	s.t.Helper()
	changes := s.insertOnly(rows...)
	if err := s.l.Commit(changes); err != nil {
		s.t.Fatal(err)
	}
	return len(changes)
}

// insertOnly plans and inserts without committing the state: a sink
// killed between its insert and its commit.
func (s *sink) insertOnly(rows ...*post.Enriched) []Change {
	s.t.Helper()
	changes, _, err := s.l.Plan(rows)
	if err != nil {
		s.t.Fatal(err)
	}
	if bad, err := s.w.Write(context.Background(), changes); err != nil || len(bad) > 0 {
		s.t.Fatal(err, bad)
	}
	return changes
}

func (s *sink) checkExact() {
	s.t.Helper()
	ms, err := CheckRollups(context.Background(), s.conn, s.db, time.Time{}, time.Time{})
	if err != nil {
		s.t.Fatal(err)
	}
	for i, m := range ms {
		if i < 20 {
			s.t.Errorf("%v", m)
		}
	}
}

func (s *sink) uint(q string) uint64 {
	s.t.Helper()
	var n uint64
	if err := s.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The rollups equal direct counts on iwom.posts however often a post is
// delivered, re-observed with new engagement, or re-enriched into another
// label or brand (its old group must disappear); an older observation
// arriving late changes nothing.
func TestRollupsExactUnderRedeliveryAndUpdates(t *testing.T) {
	s := newSink(t, "rollup_test")
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
		p.Author.Followers = int64(100 + i%3*50)
		rows = append(rows, p)
	}
	if n := s.write(rows...); n != 40 {
		t.Fatalf("wrote %d changes, want 40", n)
	}
	s.checkExact()

	// The same posts again (a redelivered batch): nothing is written.
	if n := s.write(rows[:25]...); n != 0 {
		t.Fatalf("a redelivered batch wrote %d changes", n)
	}
	if n := s.uint("SELECT count() FROM rollup_test.posts_store"); n != 40 {
		t.Errorf("posts_store has %d rows, want 40", n)
	}
	if n := s.uint("SELECT sum(posts) FROM rollup_test.volume_5m WHERE brand = 'siemens'"); n != 40 {
		t.Errorf("siemens volume %d, want 40", n)
	}

	// A later observation: more reposts, another label, one brand fewer,
	// fewer followers (the author's largest count must fall back).
	t2 := t1.Add(time.Hour)
	later := rpost("p03", rows[3].CreatedAt, []string{"cocacola"}, post.Positive, t2)
	later.Metrics.Reposts = 999
	later.Author.Followers = 7
	// Two observations in one batch: the latest wins.
	mid := rpost("p03", rows[3].CreatedAt, []string{"siemens"}, post.Negative, t2.Add(-time.Minute))
	if n := s.write(mid, later); n != 1 {
		t.Fatalf("wrote %d changes for two observations of one post, want 1", n)
	}
	s.checkExact()
	if n := s.uint("SELECT sum(posts) FROM rollup_test.volume_5m WHERE brand = 'siemens'"); n != 39 {
		t.Errorf("siemens volume %d after p03 left siemens, want 39", n)
	}
	var top string
	if err := s.conn.QueryRow(context.Background(), "SELECT id FROM rollup_test.top_posts_1h ORDER BY reposts DESC LIMIT 1").Scan(&top); err != nil || top != "p03" {
		t.Errorf("top post %q (%v), want p03", top, err)
	}
	// An older observation arriving late changes nothing.
	if n := s.write(rows[3]); n != 0 {
		t.Errorf("an older observation wrote %d changes", n)
	}
	s.checkExact()
	if n := s.uint("SELECT reposts FROM rollup_test.posts WHERE id = 'p03'"); n != 999 {
		t.Errorf("p03 has %d reposts in iwom.posts, want 999", n)
	}
	// Background merges collapse the cancelled rows and drop empty sums
	// without changing a figure.
	for _, tbl := range []string{"posts_store", "brand_posts", "volume_5m_sum", "terms_1h_sum", "authors_1h_sum"} {
		if err := s.conn.Exec(context.Background(), "OPTIMIZE TABLE rollup_test."+tbl+" FINAL"); err != nil {
			t.Fatal(err)
		}
	}
	s.checkExact()
	if n := s.uint("SELECT count() FROM rollup_test.posts_store"); n != 40 {
		t.Errorf("posts_store has %d rows after merges, want 40", n)
	}
}

// A post observed again at another created_at (a corrected clock, a
// generator re-run with another --end) counts once, at its latest time;
// the hour it left loses it.
func TestRollupsFollowMovedPosts(t *testing.T) {
	s := newSink(t, "moves_test")
	t1 := hour0.Add(time.Minute)
	var first []*post.Enriched
	for i := 0; i < 30; i++ {
		first = append(first, rpost(fmt.Sprintf("m%02d", i), hour0.Add(time.Duration(i*4)*time.Minute), []string{"siemens"}, post.Negative, t1))
	}
	s.write(first...)
	var again []*post.Enriched
	for _, p := range first {
		q := *p
		q.CreatedAt, q.IngestedAt = p.CreatedAt.Add(90*time.Minute), t1.Add(time.Hour)
		again = append(again, &q)
	}
	if n := s.write(again...); n != 30 {
		t.Fatalf("wrote %d changes, want 30", n)
	}
	s.checkExact()
	// A late copy of the first observation: iwom.posts keeps the later one.
	if n := s.write(first[:5]...); n != 0 {
		t.Fatalf("late copies wrote %d changes", n)
	}
	s.checkExact()
	if n := s.uint("SELECT sum(posts) FROM moves_test.volume_5m WHERE brand = 'siemens'"); n != 30 {
		t.Errorf("siemens volume %d, want 30", n)
	}
	if n := s.uint("SELECT count() FROM moves_test.volume_5m WHERE brand = 'siemens' AND bucket < toDateTime('2026-11-20 10:30:00', 'UTC')"); n != 0 {
		t.Errorf("%d volume groups left before the posts' new times", n)
	}
}

// The state store is a cache of ClickHouse: a sink killed after its
// insert and before its commit, a store lost or built for another
// database, are all brought back in line, and a redelivered batch then
// writes nothing twice.
func TestLedgerSyncsWithClickHouse(t *testing.T) {
	s := newSink(t, "sync_test")
	t1 := hour0.Add(time.Minute)
	var rows []*post.Enriched
	for i := 0; i < 20; i++ {
		rows = append(rows, rpost(fmt.Sprintf("s%02d", i), hour0.Add(time.Duration(i)*time.Minute), []string{"siemens"}, post.Positive, t1))
	}
	s.write(rows[:10]...)
	// Killed between insert and commit: the store does not know rows 10-19.
	s.insertOnly(rows[10:]...)
	s.restart()
	if n := s.write(rows...); n != 0 {
		t.Fatalf("the redelivered batch wrote %d changes after a restart", n)
	}
	// A re-observation of a post the store learnt only from ClickHouse.
	later := rpost("s15", rows[15].CreatedAt, []string{"cocacola"}, post.Negative, t1.Add(time.Hour))
	if n := s.write(later); n != 1 {
		t.Fatalf("wrote %d changes, want 1", n)
	}
	s.checkExact()
	if n := s.uint("SELECT count() FROM sync_test.posts"); n != 20 {
		t.Errorf("iwom.posts has %d posts, want 20", n)
	}
	// A lost store (an empty directory): a full load.
	if err := s.l.Store.Close(); err != nil {
		t.Fatal(err)
	}
	s.dir = t.TempDir()
	s.open()
	if n, err := s.l.Store.Count(); err != nil || n != 20 {
		t.Fatalf("reloaded %d records (%v), want 20", n, err)
	}
	if n := s.write(later, rows[0]); n != 0 {
		t.Fatalf("wrote %d changes after a full load", n)
	}
	// A store built for another database epoch is rebuilt.
	if err := s.conn.Exec(context.Background(), "DROP DATABASE sync_test"); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(context.Background(), s.conn, "sync_test", zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	s.restart()
	if n := s.write(rows...); n != 20 {
		t.Fatalf("wrote %d changes into a new database, want 20", n)
	}
	s.checkExact()
}

// Keys are split among partitions, each its own writer.
func TestPartitionOf(t *testing.T) {
	counts := make([]int, 4)
	for i := 0; i < 4000; i++ {
		counts[PartitionOf(fmt.Sprintf("weibo:%d", i), 4)]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("partition %d holds %d of 4000 keys", p, n)
		}
	}
	if PartitionOf("weibo:1", 1) != 0 {
		t.Error("one partition")
	}
	// A partition's sink loads only its own keys.
	s := newSink(t, "partition_test")
	var rows []*post.Enriched
	for i := 0; i < 40; i++ {
		rows = append(rows, rpost(fmt.Sprintf("q%02d", i), hour0, []string{"siemens"}, post.Positive, hour0))
	}
	s.write(rows...)
	for part := 0; part < 2; part++ {
		st, err := state.Open(t.TempDir(), 0)
		if err != nil {
			t.Fatal(err)
		}
		l := NewLedger(s.conn, s.db, st, part, 2, zerolog.Nop())
		n, err := l.Sync(context.Background())
		want := 0
		for _, r := range rows {
			if PartitionOf(r.Key(), 2) == part {
				want++
			}
		}
		if err != nil || n != want || want == 0 || want == len(rows) {
			t.Errorf("partition %d/2 loaded %d keys (%v), want %d", part, n, err, want)
		}
		_ = st.Close()
	}
}

// CheckRollups notices a wrong rollup, and Repair mends it, once.
func TestCheckAndRepair(t *testing.T) {
	ctx := context.Background()
	s := newSink(t, "check_test")
	s.write(rpost("c1", hour0, []string{"siemens"}, post.Negative, hour0), rpost("c2", hour0.Add(time.Hour), []string{"siemens"}, post.Positive, hour0))
	s.checkExact()
	// What a server killed while its views ran may leave: a post in
	// posts_store that no view saw, and a view's rows without their post.
	for _, mv := range []string{"brand_posts_mv", "volume_5m_mv", "terms_1h_mv", "authors_1h_mv", "authors_mv"} {
		if err := s.conn.Exec(ctx, "DETACH TABLE check_test."+mv); err != nil {
			t.Fatal(err)
		}
	}
	s.write(rpost("c3", hour0, []string{"siemens"}, post.Negative, hour0))
	for _, mv := range []string{"brand_posts_mv", "volume_5m_mv", "terms_1h_mv", "authors_1h_mv", "authors_mv"} {
		if err := s.conn.Exec(ctx, "ATTACH TABLE check_test."+mv); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.conn.Exec(ctx, "INSERT INTO check_test.volume_5m_sum (brand, bucket, platform, label, posts, reach, engagement, sentiment_sum) SELECT 'cmb', toDateTime('2026-11-20 09:05:00', 'UTC'), 'weibo', 'neutral', 2, 0, 0, 0"); err != nil {
		t.Fatal(err)
	}
	ms, err := CheckRollups(ctx, s.conn, "check_test", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m.Rollup] = true
	}
	for _, r := range []string{"volume_5m", "authors_1h", "terms_1h", "brand_posts", "authors"} {
		if !seen[r] {
			t.Errorf("no mismatch reported for %s: %v", r, ms)
		}
	}
	hours, fixed, err := RepairRange(ctx, s.conn, "check_test", time.Time{}, hour0.Add(24*time.Hour))
	if err != nil || hours != 2 || fixed == 0 {
		t.Fatalf("repaired %d hours with %d corrections (%v)", hours, fixed, err)
	}
	s.checkExact()
	if _, fixed, err := RepairRange(ctx, s.conn, "check_test", time.Time{}, hour0.Add(24*time.Hour)); err != nil || fixed != 0 {
		t.Errorf("a second repair wrote %d corrections (%v)", fixed, err)
	}
}
