package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/stage"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// connectStage connects to NATS for a command that runs consumers (a
// stage, the alert engine, a forwarder, connectors) and ensures the
// topology they consume from and publish to: connecting alone creates
// nothing.
func connectStage(ctx context.Context, g *cli.Globals) (*app.App, error) {
	a, err := app.Connect(ctx, g.Cfg, g.Log)
	if err != nil {
		return nil, err
	}
	if err := a.Bus.EnsureTopology(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// serveStage runs one stage until the process is signalled.
func serveStage(cmd *cobra.Command, g *cli.Globals, build func(a *app.App) (*stage.Runner, error)) error {
	ctx := cmd.Context()
	a, err := connectStage(ctx, g)
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
	var withNATS bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the versioned ClickHouse DDL and create or update the NATS streams (idempotent, safe from several replicas)",
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
			if !withNATS {
				return nil
			}
			if err := migrateNATS(ctx, g, deadline); err != nil {
				return err
			}
			fmt.Println("NATS: streams up to date")
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "keep trying to reach ClickHouse and NATS this long (for containers starting together)")
	cmd.Flags().BoolVar(&withNATS, "nats", true, "also create or update the NATS streams (at nats.url, or in the embedded server's store under data_dir)")
	return cmd
}

// migrateNATS creates or updates the streams: bus.Open ensures the
// topology (starting the embedded server on data_dir for the time of the
// call when nats.url is empty and no iwom runs), retrying until deadline.
func migrateNATS(ctx context.Context, g *cli.Globals, deadline time.Time) error {
	for {
		b, err := bus.Open(ctx, g.Cfg.NATS, g.Cfg.DataDir, g.Log.With().Str("component", "nats").Logger())
		if err == nil {
			b.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("creating the NATS streams: %w", err)
		}
		time.Sleep(time.Second)
	}
}
