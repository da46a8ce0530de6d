package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/bench"
	"github.com/iwom/iwom/pipeline/config"
)

// The benchmark harness runs end to end (briefly) in both modes and reports
// what scripts read. Its figures are not asserted: this machine is shared.
func TestBenchHarness(t *testing.T) {
	cfg := config.Default()
	cfg.ClickHouse.Addr = ch.Addr()
	for _, processes := range []bool{false, true} {
		o := bench.Options{Cfg: cfg, Database: fmt.Sprintf("iwom_bench_%d", os.Getpid()), Rate: 400, Duration: 4 * time.Second,
			Processes: processes, Binary: iwomBinary(t), Profile: !processes, Seed: 1, Log: zerolog.Nop()}
		rs, err := bench.Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			t.Fatalf("%d results", len(rs))
		}
		r := rs[0]
		if r.Posts < 1400 || r.PostsPerS <= 0 || r.P99ms <= 0 || r.P50ms > r.P99ms {
			t.Errorf("implausible result %+v", r)
		}
		if len(r.PeakRSSMB) == 0 || (processes && len(r.PeakRSSMB) != 3) {
			t.Errorf("peak RSS per process: %v", r.PeakRSSMB)
		}
		if !processes && (r.CPUSeconds["enrich"] <= 0 || len(r.Profile) == 0) {
			t.Errorf("in-process run without CPU per stage or profile: %v %v", r.CPUSeconds, r.Profile)
		}
		data, _ := json.Marshal(r)
		for _, k := range []string{"posts", "posts_per_s", "freshness_p50_ms", "freshness_p95_ms", "freshness_p99_ms", "peak_rss_mb"} {
			if !strings.Contains(string(data), `"`+k+`"`) {
				t.Errorf("JSON lacks %s", k)
			}
		}
		if md := bench.Markdown(rs); !strings.Contains(md, "| "+r.Mode+" |") {
			t.Errorf("markdown:\n%s", md)
		}
	}
}

// The benchmarks are iwomlab's: bench e2e --processes runs the stages from
// the production iwom beside iwomlab; bench enrich and report bench answer
// on this machine.
func TestBenchCLI(t *testing.T) {
	bin := iwomlabBinary(t)
	db := fmt.Sprintf("iwom_benchcli_%d", os.Getpid())
	env := append(os.Environ(), "IWOM_DATA_DIR="+t.TempDir(), "IWOM_CLICKHOUSE_ADDR="+ch.Addr(), "IWOM_LOG_LEVEL=warn")
	lab := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("iwomlab %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}

	var e2e bench.Result
	out := lab("bench", "e2e", "--processes", "--rate", "300", "--duration", "3s", "--series-interval", "1s", "--database", db, "--format", "json")
	if err := json.Unmarshal(out, &e2e); err != nil {
		t.Fatalf("bench e2e JSON: %v\n%s", err, out)
	}
	if e2e.Mode != "processes" || e2e.Posts < 600 || len(e2e.PeakRSSMB) != 3 {
		t.Errorf("bench e2e --processes: mode %q, %d posts, peak RSS of %v", e2e.Mode, e2e.Posts, e2e.PeakRSSMB)
	}

	var enr struct {
		Posts     int     `json:"posts"`
		PostsPerS float64 `json:"posts_per_s"`
	}
	out = lab("bench", "enrich", "--gen", "300", "--format", "json")
	if err := json.Unmarshal(out, &enr); err != nil || enr.Posts != 300 || enr.PostsPerS <= 0 {
		t.Errorf("bench enrich: %+v, %v\n%s", enr, err, out)
	}

	out = lab("report", "bench", "--posts", "3000", "--days", "2", "--window", "24h", "--runs", "1", "--raw-runs", "1", "--db", db+"_reports")
	if !strings.Contains(string(out), "REPORT") || !strings.Contains(string(out), "volume") {
		t.Errorf("report bench:\n%s", out)
	}
}
