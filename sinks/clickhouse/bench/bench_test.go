package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/config"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/test/chserver"
)

// BenchmarkReports loads IWOM_BENCH_POSTS posts (default 20,000) over
// IWOM_BENCH_DAYS days (default 30) into a scratch database — on the
// ClickHouse at IWOM_BENCH_CLICKHOUSE (host:port) or a private one — and
// reports each report's median latency from the rollups over a 7-day
// window ("<report>-ms") and of the same query on iwom.posts
// ("<report>-raw-ms"). The figures in docs/ANALYTICS.md come from
//
//	IWOM_BENCH_POSTS=10000000 go test -run '^$' -bench Reports -benchtime 1x -timeout 3h ./sinks/clickhouse/bench/
//
// (or `iwomlab report bench --posts 10000000`). IWOM_BENCH_KEEP=1 keeps the
// database; IWOM_BENCH_LOAD=0 measures the one a previous run kept.
func BenchmarkReports(b *testing.B) {
	posts := envInt(b, "IWOM_BENCH_POSTS", 20000)
	days := envInt(b, "IWOM_BENCH_DAYS", 30)
	addr := os.Getenv("IWOM_BENCH_CLICKHOUSE")
	if addr == "" {
		dir := b.TempDir()
		srv, err := chserver.Start(dir)
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Stop()
		addr = srv.Addr()
	}
	cfg := config.Default().ClickHouse
	cfg.Addr = addr
	conn, err := chsink.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), conn, Options{DB: fmt.Sprintf("iwom_bench_%d", posts), Posts: posts, Days: days,
			Window: 7 * 24 * time.Hour, Runs: 5, RawRuns: 3, Load: os.Getenv("IWOM_BENCH_LOAD") != "0", Keep: os.Getenv("IWOM_BENCH_KEEP") != "", Seed: 1,
			Log: func(f string, a ...any) { b.Logf(f, a...) }})
		if err != nil {
			b.Fatal(err)
		}
		// Printed, not logged: benchmark logs are cut at ten lines.
		_ = res.Write(os.Stdout)
		for _, t := range res.Timings {
			if t.Window != "aligned" {
				continue
			}
			b.ReportMetric(ms(median(t.Rollup)), t.Report+"-ms")
			b.ReportMetric(ms(median(t.Raw)), t.Report+"-raw-ms")
		}
	}
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q is not a positive number", name, s)
	}
	return n
}

// The benchmark's loader, builder and every measured query work (a small
// run, so `go test ./...` keeps them from rotting).
func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	srv, err := chserver.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cfg := config.Default().ClickHouse
	cfg.Addr = srv.Addr()
	conn, err := chsink.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := Run(context.Background(), conn, Options{DB: "bench_small", Posts: 5000, Days: 10, Window: 3 * 24 * time.Hour, Runs: 1, RawRuns: 1, Load: true, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Posts != 5000+7*4500 || len(res.Timings) != 14 {
		t.Errorf("%d posts, %d timings", res.Posts, len(res.Timings))
	}
	for _, tm := range res.Timings {
		if len(tm.Rollup) != 1 || tm.Window == "aligned" && len(tm.Raw) != 1 {
			t.Errorf("%s %s: %d/%d runs", tm.Report, tm.Window, len(tm.Rollup), len(tm.Raw))
		}
	}
	var out strings.Builder
	if err := res.Write(&out); err != nil || !strings.Contains(out.String(), "top-posts") {
		t.Errorf("%v %s", err, out.String())
	}
	ms, err := chsink.CheckRollups(context.Background(), conn, "bench_small", time.Time{}, time.Time{})
	if err == nil && len(ms) > 0 {
		t.Errorf("the loaded rollups differ from iwom.posts: %v", ms[0])
	}
}
