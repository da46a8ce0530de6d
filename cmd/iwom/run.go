package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/gen"
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/pipeline/connectors/replay"
	"github.com/iwom/iwom/pipeline/stage"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

type sourceFlags struct {
	source string
	file   string
	rate   float64
	gen    genFlags
}

func (s *sourceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.source, "source", "", "built-in source to run: gen, replay, fake:<kind> (a connector of that kind against a local fake platform serving generated posts: fake:weibo, fake:weibo-mobile, fake:wechat-mp, fake:wechat-push, fake:http), or empty for none")
	cmd.Flags().StringVar(&s.file, "file", "", "JSONL file of posts (--source replay); - for stdin")
	cmd.Flags().Float64Var(&s.rate, "rate", 0, "posts per second the source publishes (0: as fast as possible)")
	s.gen.register(cmd)
}

// connector builds the chosen source, or nil.
func (s *sourceFlags) connector(g *globals, a *app.App) (connectors.Connector, error) {
	if kind, ok := strings.CutPrefix(s.source, "fake:"); ok {
		if !slices.Contains(registry.Kinds(), kind) {
			return nil, fmt.Errorf("--source fake:%s: unknown connector kind (%s)", kind, strings.Join(registry.Kinds(), ", "))
		}
		return &fakeSource{kind: kind, gen: s.gen, g: g, a: a}, nil
	}
	switch s.source {
	case "":
		return nil, nil
	case "gen":
		gn, err := s.gen.generator(g)
		if err != nil {
			return nil, err
		}
		return &gen.Connector{Gen: gn, Rate: s.rate}, nil
	case "replay":
		if s.file == "" {
			return nil, errors.New("--source replay needs --file")
		}
		c := &replay.Connector{Path: s.file, Rate: s.rate, Limits: limits(g)}
		if s.file == "-" {
			c.In = os.Stdin
		}
		return c, nil
	}
	return nil, fmt.Errorf("unknown --source %q (gen or replay)", s.source)
}

func runCmd(g *globals) *cobra.Command {
	var sf sourceFlags
	var drain, noAlerts, migrate bool
	var drainTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run every stage in one process (embedded NATS when nats.url is empty)",
		Long: `Runs the enrich stage, the ClickHouse sink and the alert engine in one
process, plus a built-in source when --source is given. With nats.url empty
an embedded NATS server with JetStream (stored under data_dir) is started.

With --drain, run exits 0 once the source is exhausted and every stage has
processed and acknowledged everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if drain && sf.source == "" {
				return errors.New("--drain needs a finite --source")
			}
			a, err := app.Open(ctx, g.cfg, g.log)
			if err != nil {
				return err
			}
			defer a.Close()
			src, err := sf.connector(g, a)
			if err != nil {
				return err
			}
			var configured []connectors.Connector
			if !drain {
				if configured, err = configuredConnectors(g, a, nil, nil); err != nil {
					return err
				}
			}
			if a.Bus.Embedded() && a.Bus.ClientURL() != "" {
				g.log.Info().Str("url", a.Bus.ClientURL()).Msg("embedded NATS server listening")
			}
			if migrate {
				if err := doMigrate(ctx, g, a); err != nil {
					return err
				}
			}
			runners, err := buildRunners(a, !noAlerts)
			if err != nil {
				return err
			}
			stageCtx, stopStages := context.WithCancel(ctx)
			defer stopStages()
			if err := a.ServeMetrics(stageCtx); err != nil {
				return err
			}
			wait := startRunners(stageCtx, runners)
			connDone := make(chan error, 1)
			go func() { connDone <- runConnectors(stageCtx, a, configured) }()

			if src != nil {
				pub := a.Publisher(src.Name())
				if err := src.Run(ctx, pub); err != nil {
					stopStages()
					wait()
					<-connDone
					return fmt.Errorf("source %s: %w", src.Name(), err)
				}
				st := pub.Stats()
				g.log.Info().Str("source", src.Name()).Int64("published", st.Published).Int64("duplicates", st.Duplicates).Int64("invalid", st.Invalid).Msg("source finished")
			}
			if drain {
				dctx, cancel := context.WithTimeout(ctx, drainTimeout)
				names := []string{app.DurableEnrich, app.DurableSink}
				if !noAlerts {
					names = append(names, app.DurableAlerts)
				}
				err := a.WaitIdle(dctx, 250*time.Millisecond, names...)
				cancel()
				stopStages()
				wait()
				<-connDone
				if err != nil {
					return fmt.Errorf("draining: %w", err)
				}
				g.log.Info().Msg("drained: every stage has processed everything")
				return nil
			}
			// A connector that stops with an error (it could not bind its
			// address, say) stops the process: a supervisor sees it.
			select {
			case <-ctx.Done():
			case err := <-connDone:
				if err != nil {
					stopStages()
					wait()
					return err
				}
				<-ctx.Done()
				stopStages()
				wait()
				return nil
			}
			stopStages()
			wait()
			return <-connDone
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&drain, "drain", false, "exit once the source is exhausted and every stage is idle")
	cmd.Flags().DurationVar(&drainTimeout, "drain-timeout", 30*time.Minute, "longest wait for --drain")
	cmd.Flags().BoolVar(&noAlerts, "no-alerts", false, "do not run the alert engine")
	cmd.Flags().BoolVar(&migrate, "migrate", true, "apply ClickHouse migrations at start")
	return cmd
}

func buildRunners(a *app.App, withAlerts bool) ([]*stage.Runner, error) {
	er, err := a.EnrichRunner()
	if err != nil {
		return nil, err
	}
	sr, err := a.SinkRunner()
	if err != nil {
		return nil, err
	}
	rs := []*stage.Runner{er, sr}
	if withAlerts {
		rs = append(rs, a.AlertsRunner())
	}
	return rs, nil
}

// startRunners runs each runner in a goroutine; the returned func waits for
// all of them (they stop when ctx ends, finishing their batch in hand).
func startRunners(ctx context.Context, rs []*stage.Runner) (wait func()) {
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func(r *stage.Runner) {
			defer wg.Done()
			if err := r.Run(ctx); err != nil {
				r.Log.Error().Err(err).Msg("stage stopped")
			}
		}(r)
	}
	return wg.Wait
}

// serveStage runs one stage until the process is signalled.
func serveStage(cmd *cobra.Command, g *globals, build func(a *app.App) (*stage.Runner, error)) error {
	ctx := cmd.Context()
	a, err := app.Connect(ctx, g.cfg, g.log)
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

func enrichCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "enrich",
		Short: "Run the enrich stage alone (iwom.raw.* → iwom.enriched.*); scale by running several",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveStage(cmd, g, func(a *app.App) (*stage.Runner, error) { return a.EnrichRunner() })
		},
	}
}

func sinkCmd(g *globals) *cobra.Command {
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

func migrateCmd(g *globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the versioned ClickHouse DDL (idempotent, safe from several replicas)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			conn, err := chsink.Open(g.cfg.ClickHouse)
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
				return fmt.Errorf("reaching ClickHouse at %s: %w", g.cfg.ClickHouse.Addr, err)
			}
			applied, err := chsink.Migrate(ctx, conn, g.cfg.ClickHouse.Database, g.log)
			if err != nil {
				return err
			}
			fmt.Printf("database %s: %d migration(s) applied, schema up to date\n", g.cfg.ClickHouse.Database, len(applied))
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "keep trying to reach ClickHouse this long (for containers starting together)")
	return cmd
}

func doMigrate(ctx context.Context, g *globals, a *app.App) error {
	conn, err := a.ClickHouse()
	if err != nil {
		return err
	}
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("reaching ClickHouse at %s: %w", g.cfg.ClickHouse.Addr, err)
	}
	_, err = chsink.Migrate(ctx, conn, g.cfg.ClickHouse.Database, g.log)
	return err
}
