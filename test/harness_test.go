// End-to-end tests: an embedded nats-server with JetStream and a real
// ClickHouse (a private clickhouse-server started by TestMain, on free
// ports, in a temporary directory; each test uses its own database).
package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/stage"
	"github.com/iwom/iwom/pipeline/synth"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/test/chserver"
)

var (
	ch      *chserver.Server
	dbSeq   int
	testEnd = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "iwom-ch-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ch, err = chserver.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting ClickHouse for the end-to-end tests:", err)
		return 1
	}
	defer ch.Stop()
	fmt.Fprintf(os.Stderr, "ClickHouse (%s) at %s, data in %s\n", ch.Bin, ch.Addr(), dir)
	code := m.Run()
	if r := chaosReport(); r != "" {
		fmt.Fprintf(os.Stderr, "\nFault matrix:\n%s", r)
		if p := os.Getenv("IWOM_CHAOS_REPORT"); p != "" {
			_ = os.WriteFile(p, []byte(r), 0o644)
		}
	}
	return code
}

// env is one test's pipeline: its own NATS data dir and ClickHouse database.
type env struct {
	t    *testing.T
	cfg  *config.Config
	app  *app.App
	conn driver.Conn
	db   string
}

var (
	enrOnce sync.Once
	enr     *enrich.Enricher
	enrErr  error
)

func sharedEnricher(t *testing.T) *enrich.Enricher {
	enrOnce.Do(func() { enr, enrErr = enrich.Default() })
	if enrErr != nil {
		t.Fatal(enrErr)
	}
	return enr
}

func newEnv(t *testing.T, tweak func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NATS.EmbeddedListen = "127.0.0.1:-1"
	cfg.NATS.AckWait = 5 * time.Second
	cfg.NATS.FetchWait = 200 * time.Millisecond
	cfg.ClickHouse.Addr = ch.Addr()
	cfg.ClickHouse.FlushInterval = 300 * time.Millisecond
	cfg.ClickHouse.RetryMax = time.Second
	dbSeq++
	cfg.ClickHouse.Database = fmt.Sprintf("iwom_test_%d_%d", os.Getpid(), dbSeq)
	cfg.Log.StatsInterval = time.Hour
	if tweak != nil {
		tweak(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	a.Enricher = sharedEnricher(t)
	conn, err := a.ClickHouse()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chsink.Migrate(ctx, conn, cfg.ClickHouse.Database, log); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cfg: cfg, app: a, conn: conn, db: cfg.ClickHouse.Database}
	t.Cleanup(func() {
		if ch.Running() {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+e.db)
		}
		a.Close()
	})
	return e
}

// running is a set of stage runners started together.
type running struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (r *running) stop() { r.cancel(); r.wg.Wait() }

func (e *env) start(rs ...*stage.Runner) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel}
	for _, rn := range rs {
		r.wg.Add(1)
		go func(rn *stage.Runner) {
			defer r.wg.Done()
			if err := rn.Run(ctx); err != nil {
				e.t.Errorf("stage %s: %v", rn.Name, err)
			}
		}(rn)
	}
	e.t.Cleanup(r.stop)
	return r
}

func (e *env) enrichRunner() *stage.Runner {
	r, err := e.app.EnrichRunner()
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) sinkRunner() *stage.Runner {
	r, err := e.app.SinkRunner()
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) waitIdle(names ...string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if len(names) == 0 {
		names = []string{app.DurableEnrich, app.DurableSink}
	}
	if err := e.app.WaitIdle(ctx, 200*time.Millisecond, names...); err != nil {
		e.t.Fatalf("waiting for the pipeline to drain: %v", err)
	}
}

// generate writes a generated JSONL file and returns its path and truth.
func generate(t *testing.T, n int, seed uint64, scenario string) (string, synth.Truth) {
	t.Helper()
	wl, err := brands.Load("")
	if err != nil {
		t.Fatal(err)
	}
	g, err := synth.New(synth.Options{Count: n, Seed: seed, Scenario: scenario, End: testEnd}, wl)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "posts.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.WriteJSONL(f, g.All()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, g.Truth()
}

func (e *env) count(q string, args ...any) uint64 {
	e.t.Helper()
	var n uint64
	if err := e.conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// checkTruth compares iwom.posts with what the generator says it made:
// total rows, and posts per brand and sentiment label.
func (e *env) checkTruth(truth synth.Truth) {
	e.t.Helper()
	if got := e.count("SELECT count() FROM " + e.db + ".posts"); got != uint64(truth.Total) {
		e.t.Errorf("iwom.posts has %d rows, truth says %d", got, truth.Total)
	}
	rows, err := chsink.BrandSummary(context.Background(), e.conn, e.db, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	got := map[string]map[string]int{}
	for _, r := range rows {
		got[r.Brand] = map[string]int{"total": int(r.Posts), "positive": int(r.Positive), "neutral": int(r.Neutral), "negative": int(r.Negative)}
	}
	for brand, want := range truth.Brands {
		for _, k := range []string{"total", "positive", "neutral", "negative"} {
			if got[brand][k] != want[k] {
				e.t.Errorf("brand %s %s: iwom.posts has %d, truth %d", brand, k, got[brand][k], want[k])
			}
		}
	}
	for brand := range got {
		if _, ok := truth.Brands[brand]; !ok {
			e.t.Errorf("brand %s in iwom.posts but not in the truth", brand)
		}
	}
}
