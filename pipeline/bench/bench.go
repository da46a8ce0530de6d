// Package bench measures iwom end to end on the machine it runs on:
// generator → NATS JetStream (file storage) → enrich → ClickHouse sink, in
// one process or with each stage in its own process. It reports sustained
// throughput, freshness (post published → row stored in ClickHouse)
// percentiles, peak RSS and CPU per stage or process, and where the time
// goes.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Step is one offered rate of a ramp.
type Step struct {
	Offered  float64 `json:"offered_per_s"`
	Achieved float64 `json:"achieved_per_s"`
	P99ms    float64 `json:"freshness_p99_ms"`
	Backlog  uint64  `json:"backlog_end"`
	Kept     bool    `json:"kept_up"`
}

// Result is one benchmark run. The JSON keys posts, posts_per_s,
// freshness_p50_ms, freshness_p95_ms, freshness_p99_ms and peak_rss_mb are
// stable for scripts.
type Result struct {
	Mode        string             `json:"mode"` // inprocess or processes
	Machine     string             `json:"machine"`
	When        time.Time          `json:"when"`
	OfferedRate float64            `json:"offered_per_s"` // 0: as fast as possible
	Seconds     float64            `json:"seconds"`
	Posts       int64              `json:"posts"`
	PostsPerS   float64            `json:"posts_per_s"`
	P50ms       float64            `json:"freshness_p50_ms"`
	P95ms       float64            `json:"freshness_p95_ms"`
	P99ms       float64            `json:"freshness_p99_ms"`
	PeakRSSMB   map[string]float64 `json:"peak_rss_mb"` // per process
	CPUSeconds  map[string]float64 `json:"cpu_s"`       // per stage (inprocess) or process
	Profile     []ProfileLine      `json:"profile,omitempty"`
	Ramp        []Step             `json:"ramp,omitempty"`
	Knee        float64            `json:"knee_per_s,omitempty"`
	Note        string             `json:"note,omitempty"`

	// Offered is the number of posts published in the run.
	Offered int64 `json:"posts_offered"`
	// IwomCPUs is the CPU time of all iwom processes over the run (the
	// generator and the embedded NATS server included).
	IwomCPUs float64 `json:"iwom_cpu_s"`
	// CHCPUs is the CPU time of the local ClickHouse server over the run;
	// null when it could not be measured (CHCPUNote says why).
	CHCPUs    *float64 `json:"clickhouse_cpu_s"`
	CHCPUNote string   `json:"clickhouse_cpu_note,omitempty"`
	// StoredByOfferEndPct is the share of the offered posts already stored
	// when the offer ended.
	StoredByOfferEndPct *float64 `json:"stored_by_end_of_offer_pct,omitempty"`
	// Minutes is the series: one entry per SeriesIntervalS seconds from
	// the start of the offer until the tail was stored.
	SeriesIntervalS float64  `json:"series_interval_s,omitempty"`
	Minutes         []Minute `json:"minutes,omitempty"`
	// First5 and Last5 compare the first and last five minutes of offers
	// of ten minutes or more.
	First5 *Window `json:"first5,omitempty"`
	Last5  *Window `json:"last5,omitempty"`
}

// ProfileLine is one function's share of the CPU samples.
type ProfileLine struct {
	Function string  `json:"function"`
	FlatPct  float64 `json:"flat_pct"`
	CumPct   float64 `json:"cum_pct"`
}

// Machine describes this machine for the report.
func Machine() string {
	mem := ""
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "MemTotal:") {
				kb, _ := strconv.ParseFloat(strings.Fields(sc.Text())[1], 64)
				mem = fmt.Sprintf(", %.0f GiB", kb/1024/1024)
			}
		}
		f.Close()
	}
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					model = ", " + strings.TrimSpace(v)
				}
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs%s%s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, mem, runtime.Version())
}

// PeakRSSMB reads a process's peak resident set (VmHWM) in MB.
func PeakRSSMB(pid int) float64 { return statusMB(pid, "VmHWM:") }

// RSSMB reads a process's current resident set (VmRSS) in MB.
func RSSMB(pid int) float64 { return statusMB(pid, "VmRSS:") }

func statusMB(pid int, key string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// CPUSeconds reads a process's user+system CPU time (0 if unreadable).
func CPUSeconds(pid int) float64 {
	s, _ := procCPU("/proc", pid)
	return s
}

// Markdown renders results as a table.
func Markdown(rs []*Result) string {
	var b strings.Builder
	if len(rs) > 0 {
		fmt.Fprintf(&b, "Measured %s on %s.\n\n", rs[0].When.UTC().Format("2006-01-02 15:04 MST"), rs[0].Machine)
	}
	b.WriteString("| mode | offered posts/s | posts | sustained posts/s | freshness p50 / p95 / p99 (ms) | peak RSS (MB) | CPU s |\n")
	b.WriteString("| --- | ---: | ---: | ---: | --- | --- | --- |\n")
	for _, r := range rs {
		offered := "max"
		if r.OfferedRate > 0 {
			offered = fmt.Sprintf("%.0f", r.OfferedRate)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.0f / %.0f / %.0f | %s | %s |\n", r.Mode, offered, r.Posts, r.PostsPerS, r.P50ms, r.P95ms, r.P99ms, kv(r.PeakRSSMB, "%.0f"), kv(r.CPUSeconds, "%.1f"))
	}
	for _, r := range rs {
		if len(r.Ramp) > 0 {
			fmt.Fprintf(&b, "\nRamp (%s): knee at %.0f posts/s\n\n| offered | achieved | p99 freshness (ms) | backlog at end | kept up |\n| ---: | ---: | ---: | ---: | --- |\n", r.Mode, r.Knee)
			for _, s := range r.Ramp {
				fmt.Fprintf(&b, "| %.0f | %.0f | %.0f | %d | %v |\n", s.Offered, s.Achieved, s.P99ms, s.Backlog, s.Kept)
			}
		}
		if len(r.Profile) > 0 {
			fmt.Fprintf(&b, "\nWhere the time goes (%s, %s, top functions by CPU):\n\n| function | flat %% | cum %% |\n| --- | ---: | ---: |\n", r.Mode, offeredName(r))
			for _, p := range r.Profile {
				fmt.Fprintf(&b, "| `%s` | %.1f | %.1f |\n", p.Function, p.FlatPct, p.CumPct)
			}
		}
		writeSeries(&b, r)
		if r.Note != "" {
			fmt.Fprintf(&b, "\n%s\n", r.Note)
		}
	}
	return b.String()
}

// writeSeries renders the per-interval series and the soak comparison.
func writeSeries(b *strings.Builder, r *Result) {
	if r.Offered == 0 && len(r.Minutes) == 0 {
		return
	}
	ch := "not measured"
	if r.CHCPUs != nil {
		ch = fmt.Sprintf("%.1f s", *r.CHCPUs)
		if r.Posts > 0 {
			ch += fmt.Sprintf(" (%.3f s per 1,000 posts stored)", 1000**r.CHCPUs/float64(r.Posts))
		}
	}
	if r.CHCPUNote != "" {
		ch += "; " + r.CHCPUNote
	}
	fmt.Fprintf(b, "\nCPU (%s, %s): iwom %.1f s, ClickHouse server %s.\n", r.Mode, offeredName(r), r.IwomCPUs, ch)
	if r.StoredByOfferEndPct != nil {
		fmt.Fprintf(b, "Stored by the end of the offer: %.1f%% of %d offered.\n", *r.StoredByOfferEndPct, r.Offered)
	}
	if len(r.Minutes) > 0 {
		fmt.Fprintf(b, "\nSeries (%s, every %s; freshness of the posts stored in the interval):\n\n", r.Mode, time.Duration(r.SeriesIntervalS*float64(time.Second)))
		b.WriteString("| from (s) | offered | stored | freshness p50 / p99 (ms) | ClickHouse CPU s | iwom CPU s | backlog at end | iwom RSS (MB) |\n")
		b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, m := range r.Minutes {
			fmt.Fprintf(b, "| %.0f | %d | %d | %s / %s | %s | %.1f | %d | %.0f |\n", m.Start, m.Offered, m.Stored, opt(m.P50ms, "%.0f"), opt(m.P99ms, "%.0f"), opt(m.CHCPUs, "%.1f"), m.IwomCPUs, m.BacklogAt, m.IwomRSSMB)
		}
	}
	if r.First5 != nil && r.Last5 != nil {
		fmt.Fprintf(b, "\nFirst vs last five minutes of the offer (%s):\n\n", r.Mode)
		b.WriteString("| window | stored | posts/s | freshness p50 / p99 (ms) | ClickHouse CPU s per 1,000 posts | iwom CPU s per 1,000 posts |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, w := range []*Window{r.First5, r.Last5} {
			fmt.Fprintf(b, "| %.0f–%.0f s | %d | %.0f | %s / %s | %s | %s |\n", w.From, w.To, w.Stored, w.PostsPerS, opt(w.P50ms, "%.0f"), opt(w.P99ms, "%.0f"), opt(w.CHCPUPer1k, "%.3f"), opt(w.IwomCPUPer1k, "%.3f"))
		}
	}
}

// opt formats an optional value, "–" when absent.
func opt(v *float64, f string) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf(f, *v)
}

func offeredName(r *Result) string {
	if r.OfferedRate > 0 {
		return fmt.Sprintf("%.0f posts/s offered", r.OfferedRate)
	}
	return "as fast as possible"
}

func kv(m map[string]float64, f string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+fmt.Sprintf(f, m[k]))
	}
	return strings.Join(parts, ", ")
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, every time.Duration, cond func() bool) bool {
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
	return true
}
