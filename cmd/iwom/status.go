package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/termsafe"
)

// Status is what `iwom status` reports.
type Status struct {
	NATS       string            `json:"nats"`
	Streams    []bus.StreamState `json:"streams"`
	DLQ        map[string]uint64 `json:"dlq"`
	ClickHouse struct {
		Addr      string `json:"addr"`
		Reachable bool   `json:"reachable"`
		Error     string `json:"error,omitempty"`
		Posts     uint64 `json:"posts"`
		Rows      uint64 `json:"posts_store_rows"`
	} `json:"clickhouse"`
}

func statusCmd(g *cli.Globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Streams, consumers and their lag, dead letters, and ClickHouse row counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 20*time.Second)
			defer cancel()
			a, err := app.Connect(ctx, g.Cfg, g.Log)
			if err != nil {
				return err
			}
			defer a.Close()
			var st Status
			st.NATS = a.Bus.ConnectedURL()
			if st.NATS == "" {
				st.NATS = "embedded (in this process)"
			}
			state, err := a.Bus.State(ctx)
			if err != nil {
				return fmt.Errorf("reading JetStream state: %w", err)
			}
			st.Streams, st.DLQ = state.Streams, state.DLQ
			st.ClickHouse.Addr = g.Cfg.ClickHouse.Addr
			if conn, err := a.ClickHouse(); err == nil {
				db := g.Cfg.ClickHouse.Database
				if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".posts").Scan(&st.ClickHouse.Posts); err != nil {
					st.ClickHouse.Error = err.Error()
				} else {
					st.ClickHouse.Reachable = true
					_ = conn.QueryRow(ctx, "SELECT count() FROM "+db+".posts_store").Scan(&st.ClickHouse.Rows)
				}
			} else {
				st.ClickHouse.Error = err.Error()
			}
			if format == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(st)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func printStatus(st Status) {
	fmt.Printf("NATS: %s\n\n", termsafe.Cell(st.NATS))
	tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tLIMIT\tCONSUMER\tPENDING (LAG)\tACK PENDING\tREDELIVERED\tWAITING PULLS")
	for _, s := range st.Streams {
		limit := "unlimited"
		if s.MaxBytes > 0 {
			limit = fmt.Sprintf("%.0f%% of %d", 100*float64(s.Bytes)/float64(s.MaxBytes), s.MaxBytes)
		}
		if len(s.Consumers) == 0 {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t-\t\t\t\t\n", termsafe.Cell(s.Name), s.Messages, s.Bytes, limit)
		}
		for i, c := range s.Consumers {
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t", termsafe.Cell(s.Name), s.Messages, s.Bytes, limit)
			} else {
				fmt.Fprint(tw, "\t\t\t\t")
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", termsafe.Cell(c.Name), c.Pending, c.AckPending, c.Redelivered, c.Waiting)
		}
	}
	_ = tw.Flush()
	fmt.Println()
	if len(st.DLQ) == 0 {
		fmt.Println("dead letters: none")
	} else {
		subjects := make([]string, 0, len(st.DLQ))
		for s := range st.DLQ {
			subjects = append(subjects, s)
		}
		sort.Strings(subjects)
		fmt.Println("dead letters:")
		for _, s := range subjects {
			fmt.Printf("  %-28s %d\n", termsafe.Cell(s), st.DLQ[s])
		}
	}
	fmt.Println()
	if st.ClickHouse.Reachable {
		fmt.Printf("ClickHouse %s: %d posts (%d rows before deduplication)\n", termsafe.Cell(st.ClickHouse.Addr), st.ClickHouse.Posts, st.ClickHouse.Rows)
	} else {
		fmt.Printf("ClickHouse %s: unreachable: %s\n", termsafe.Cell(st.ClickHouse.Addr), termsafe.Cell(st.ClickHouse.Error))
	}
}
