package clickhouse

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/test/chserver"
)

var server *chserver.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iwom-ch-sink-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server, err = chserver.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting ClickHouse:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	server.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func connect(t testing.TB, db string) driver.Conn {
	t.Helper()
	cfg := config.Default().ClickHouse
	cfg.Addr = server.Addr()
	conn, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		conn.Close()
	})
	return conn
}

func TestSplitStatements(t *testing.T) {
	got := SplitStatements("-- c\nCREATE TABLE a (x UInt8);\n\nCREATE VIEW b AS\nSELECT 1;\n")
	if len(got) != 2 || got[1] != "CREATE VIEW b AS\nSELECT 1" {
		t.Errorf("%q", got)
	}
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, "mig_test")
	log := zerolog.Nop()
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := Migrate(ctx, conn, "mig_test", log); errs <- err }()
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	applied, err := Migrate(ctx, conn, "mig_test", log)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %d (%v)", len(applied), err)
	}
	done, err := AppliedVersions(ctx, conn, "mig_test")
	if err != nil {
		t.Fatal(err)
	}
	migs, _ := Migrations("mig_test")
	if len(done) != len(migs) {
		t.Errorf("recorded %d versions, have %d migrations", len(done), len(migs))
	}
}

func enriched(id string, version time.Time) *post.Enriched {
	return &post.Enriched{
		Post: post.Post{Platform: "weibo", ID: id, Text: "西门子冰箱门又坏了", CreatedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
			IngestedAt: version, Author: post.Author{ID: "u1", Followers: 10}, Metrics: post.Metrics{Likes: 3}},
		Tokens: []string{"西门子", "冰箱门"}, Brands: []string{"siemens"}, Keywords: []string{"冰箱门"},
		Sentiment: post.Sentiment{Score: -0.8, Label: post.Negative}, EnrichedAt: version,
	}
}

// Duplicate deliveries write nothing, a later observation cancels the
// stored one: iwom.posts counts each post once, its latest observation.
func TestWriterAndDedupView(t *testing.T) {
	s := newSink(t, "writer_test")
	t1 := time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	s.write(enriched("1", t1), enriched("2", t1))
	later := enriched("1", t2)
	later.Metrics.Likes = 99
	s.write(later, enriched("2", t1))
	// A background merge may already have collapsed the cancelled pair.
	if live, stored, posts, likes := s.uint("SELECT toUInt64(sum(sign)) FROM writer_test.posts_store"), s.uint("SELECT count() FROM writer_test.posts_store"),
		s.uint("SELECT count() FROM writer_test.posts"), s.uint("SELECT likes FROM writer_test.posts WHERE id = '1'"); live != 2 || stored != 4 && stored != 2 || posts != 2 || likes != 99 {
		t.Errorf("live %d, stored %d, posts %d, likes %d; want 2, 4 (or 2 once merged), 2, 99", live, stored, posts, likes)
	}
}

func TestUnavailableClassified(t *testing.T) {
	cfg := config.Default().ClickHouse
	cfg.Addr = "127.0.0.1:1"
	cfg.DialTimeout = 200 * time.Millisecond
	conn, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = NewWriter(conn, "x").Insert(context.Background(), []*post.Enriched{enriched("1", time.Now())})
	if err == nil || !IsUnavailable(err) || IsDataError(err) {
		t.Errorf("err %v: unavailable=%v data=%v", err, IsUnavailable(err), IsDataError(err))
	}
}
