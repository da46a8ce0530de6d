package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/stage"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// serveStage runs one stage until the process is signalled.
func serveStage(cmd *cobra.Command, g *cli.Globals, build func(a *app.App) (*stage.Runner, error)) error {
	ctx := cmd.Context()
	a, err := app.Connect(ctx, g.Cfg, g.Log)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := build(a)
	if err != nil {
		return err
	}
	if err := a.ServeMetrics(ctx); err != nil {
		return err
	}
	return r.Run(ctx)
}

func enrichCmd(g *cli.Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "enrich",
		Short: "Run the enrich stage alone (iwom.raw.* → iwom.enriched.*); scale by running several",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveStage(cmd, g, func(a *app.App) (*stage.Runner, error) { return a.EnrichRunner() })
		},
	}
}

func sinkCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "sink", Short: "Run a sink stage alone"}
	cmd.AddCommand(&cobra.Command{
		Use:   "clickhouse",
		Short: "Run the ClickHouse sink alone (iwom.enriched.* → iwom.posts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveStage(cmd, g, func(a *app.App) (*stage.Runner, error) { return a.SinkRunner() })
		},
	})
	return cmd
}

func migrateCmd(g *cli.Globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the versioned ClickHouse DDL (idempotent, safe from several replicas)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			conn, err := chsink.Open(g.Cfg.ClickHouse)
			if err != nil {
				return err
			}
			defer conn.Close()
			deadline := time.Now().Add(wait)
			for {
				err = conn.Ping(ctx)
				if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
					break
				}
				time.Sleep(time.Second)
			}
			if err != nil {
				return fmt.Errorf("reaching ClickHouse at %s: %w", g.Cfg.ClickHouse.Addr, err)
			}
			applied, err := chsink.Migrate(ctx, conn, g.Cfg.ClickHouse.Database, g.Log)
			if err != nil {
				return err
			}
			fmt.Printf("database %s: %d migration(s) applied, schema up to date\n", g.Cfg.ClickHouse.Database, len(applied))
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "keep trying to reach ClickHouse this long (for containers starting together)")
	return cmd
}
