package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

func reportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Print IWOM reports queried from ClickHouse"}
	var format string
	var since time.Duration
	summary := &cobra.Command{
		Use:   "summary",
		Short: "Posts per brand with positive / neutral / negative counts and net sentiment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := chsink.Open(g.cfg.ClickHouse)
			if err != nil {
				return err
			}
			defer conn.Close()
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			rows, err := chsink.BrandSummary(cmd.Context(), conn, g.cfg.ClickHouse.Database, from)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetEscapeHTML(false)
				return enc.Encode(map[string]any{"report": "summary", "rows": rows})
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "BRAND\tPOSTS\tPOSITIVE\tNEUTRAL\tNEGATIVE\tNET\tAUTHORS\t")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%+.2f\t%d\t\n", r.Brand, r.Posts, r.Positive, r.Neutral, r.Negative, r.Net, r.Authors)
			}
			return tw.Flush()
		},
	}
	summary.Flags().StringVar(&format, "format", "table", "table or json")
	summary.Flags().DurationVar(&since, "since", 0, "only posts created in this last span (0: all)")
	cmd.AddCommand(summary)
	return cmd
}
