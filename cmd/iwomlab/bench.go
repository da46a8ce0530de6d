package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/bench"
)

func benchCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure iwom on this machine"}
	cmd.AddCommand(benchE2ECmd(g), benchEnrichCmd(g))
	return cmd
}

func benchE2ECmd(g *cli.Globals) *cobra.Command {
	var o bench.Options
	var ramp, format, out, readme, iwom string
	var both bool
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "End to end: generator → JetStream (file storage) → enrich → ClickHouse; throughput, freshness, RSS, CPU",
		Long: `Runs the pipeline against the configured ClickHouse (database iwom_bench,
dropped and recreated) with an embedded NATS server on file storage.

Without --rate it ramps the offered rate (--ramp) to find the knee — the
highest rate stored with ≥ 95% kept and p99 freshness under 5 s — then holds
80% of it for --soak. With --rate it offers that rate for --duration. With
--rate 0 --count N it publishes N posts at once and measures how fast they
are stored. Freshness is the time from a post's publication to its row being
stored in ClickHouse.

Each run also reports a series, one entry per --series-interval from the
start of the offer until the tail is stored: posts offered and stored in the
interval, freshness p50/p99 of the posts stored in it, the CPU seconds of the
ClickHouse server (when it runs on this machine; null otherwise) and of iwom
(all its processes, the generator and NATS included), the backlog and iwom's
resident set. Offers of 10 minutes or more also compare the first and last
five minutes (first5, last5: posts stored, freshness, CPU per 1,000 posts).
With --processes the enrich stage and the sink run as "iwom enrich" and "iwom
sink clickhouse" processes of the iwom binary (--iwom; default: the iwom
beside iwomlab, else the one on PATH).

A soak: iwomlab bench e2e --rate 5000 --duration 30m.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Cfg, o.Log = g.Cfg, g.Log
			if !cmd.Flags().Changed("rate") {
				for _, s := range strings.Split(ramp, ",") {
					v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
					if err != nil || v <= 0 {
						return fmt.Errorf("--ramp: %q is not a rate", s)
					}
					o.Ramp = append(o.Ramp, v)
				}
			}
			modes := []bool{o.Processes}
			if both {
				modes = []bool{false, true}
			}
			if o.Processes || both {
				bin, err := iwomBinary(iwom)
				if err != nil {
					return err
				}
				o.Binary = bin
			}
			var results []*bench.Result
			for _, p := range modes {
				o.Processes = p
				rs, err := bench.Run(cmd.Context(), o)
				if err != nil {
					return err
				}
				results = append(results, rs...)
			}
			md := bench.Markdown(results)
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				js, _ := json.MarshalIndent(results, "", "  ")
				if err := os.WriteFile(filepath.Join(out, "e2e.json"), append(js, '\n'), 0o644); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(out, "e2e.md"), []byte(md), 0o644); err != nil {
					return err
				}
			}
			if readme != "" {
				if err := replaceSection(readme, "bench-e2e", md); err != nil {
					return err
				}
			}
			switch format {
			case "json":
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if len(results) == 1 {
					return enc.Encode(results[0])
				}
				return enc.Encode(results)
			default:
				fmt.Print(md)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.Rate, "rate", 0, "offered posts/s (0 with --count: as fast as possible); omit to ramp")
	f.DurationVar(&o.Duration, "duration", 30*time.Second, "how long to offer --rate")
	f.IntVar(&o.Count, "count", 200000, "posts for the as-fast-as-possible run (--rate 0)")
	f.StringVar(&ramp, "ramp", "2000,4000,6000,8000,10000,12000,15000,20000", "offered rates of the ramp")
	f.DurationVar(&o.StepDuration, "step", 10*time.Second, "duration of each ramp step")
	f.DurationVar(&o.Soak, "soak", time.Minute, "after the ramp, hold 80% of the knee this long")
	f.BoolVar(&o.Processes, "processes", false, "run enrich and the sink as separate iwom processes")
	f.BoolVar(&both, "both", false, "run in one process, then as separate processes")
	f.StringVar(&iwom, "iwom", "", "iwom binary the stages run from with --processes (default: iwom beside iwomlab, else on PATH)")
	f.BoolVar(&o.Profile, "profile", true, "CPU-profile the in-process run (CPU per stage, top functions)")
	f.StringVar(&o.Database, "database", "iwom_bench", "ClickHouse database to use (dropped first)")
	f.Uint64Var(&o.Seed, "seed", 1, "generator seed")
	f.DurationVar(&o.SeriesInterval, "series-interval", time.Minute, "length of the intervals of the per-interval series (posts, freshness, CPU)")
	f.StringVar(&format, "format", "table", "table (Markdown) or json")
	f.StringVar(&out, "out", "", "also write e2e.md and e2e.json into this directory")
	f.StringVar(&readme, "readme", "", "replace the <!-- bench-e2e:start/end --> section of this Markdown file with the table")
	return cmd
}

// iwomBinary is the iwom binary that runs the stages as processes: path
// when given, else iwom in iwomlab's directory (make build and make lab
// put both in bin/), else iwom on PATH.
func iwomBinary(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "iwom")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := exec.LookPath("iwom")
	if err != nil {
		return "", errors.New("--processes runs the stages as iwom processes: build bin/iwom (make build) or pass --iwom PATH")
	}
	return p, nil
}

// replaceSection swaps the text between <!-- name:start --> and
// <!-- name:end --> in a Markdown file.
func replaceSection(path, name, body string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	start, end := "<!-- "+name+":start -->", "<!-- "+name+":end -->"
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, start, end)
	}
	s = s[:i+len(start)] + "\n" + body + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
