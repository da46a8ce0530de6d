package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/bench"
)

func reportBenchCmd(g *cli.Globals) *cobra.Command {
	var o bench.Options
	var load bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load generated posts into a scratch database and time every report from the rollups against the same query on iwom.posts",
		Long: `Loads --posts generated, enriched posts over --days straight into database
--db (with the sink's Writer, in time order, not through NATS; the
materialized views fill the rollups as it goes), measures what the sink
pays at this size (loading its state store from ClickHouse, then the median
5,000-post batch with 500 re-observations: plan, insert, commit), then
times each report over a --window window ending at the
newest post: from the rollups (the report code), and the same question
asked of iwom.posts directly. --load=false reuses what --db holds. The
database is dropped at the end unless --keep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := chsink.Open(g.Cfg.ClickHouse)
			if err != nil {
				return err
			}
			defer conn.Close()
			o.Load = load
			o.Log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
			res, err := bench.Run(cmd.Context(), conn, o)
			if err != nil {
				return err
			}
			return res.Write(os.Stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DB, "db", "iwom_bench", "scratch database (created, and dropped unless --keep)")
	f.IntVar(&o.Posts, "posts", 1_000_000, "posts to load")
	f.IntVar(&o.Days, "days", 30, "days the posts span")
	f.DurationVar(&o.Window, "window", 7*24*time.Hour, "report window (ends at the newest post)")
	f.IntVar(&o.Runs, "runs", 5, "timed runs per report (the median is reported)")
	f.IntVar(&o.RawRuns, "raw-runs", 3, "timed runs per query on iwom.posts")
	f.BoolVar(&load, "load", true, "load the posts (false: measure what --db holds)")
	f.BoolVar(&o.Keep, "keep", false, "keep the database")
	f.Uint64Var(&o.Seed, "seed", 1, "generator seed")
	return cmd
}
