package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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
