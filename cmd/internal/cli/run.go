package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/gen"
	"github.com/iwom/iwom/pipeline/connectors/replay"
	"github.com/iwom/iwom/pipeline/stage"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// A Source is a built-in --source of the run command beyond gen and replay,
// which every binary's run has: iwomlab adds fake:<kind>.
type Source struct {
	// Prefix starts the --source values it takes, e.g. "fake:".
	Prefix string
	// Help names them in --source's help, e.g. "fake:<kind> (…)".
	Help string
	// New builds the connector for the --source value arg (Prefix cut
	// off); gen holds the generator flags of the command.
	New func(arg string, g *Globals, a *app.App, gen *GenFlags) (connectors.Connector, error)
}

type sourceFlags struct {
	source string
	file   string
	rate   float64
	gen    GenFlags
	extra  []Source
}

func (s *sourceFlags) register(cmd *cobra.Command) {
	kinds := []string{"gen", "replay"}
	for _, x := range s.extra {
		kinds = append(kinds, x.Help)
	}
	cmd.Flags().StringVar(&s.source, "source", "", "built-in source to run: "+strings.Join(kinds, ", ")+", or empty for none")
	cmd.Flags().StringVar(&s.file, "file", "", "JSONL file of posts (--source replay); - for stdin")
	cmd.Flags().Float64Var(&s.rate, "rate", 0, "posts per second the source publishes (0: as fast as possible)")
	s.gen.Register(cmd)
}

// connector builds the chosen source, or nil.
func (s *sourceFlags) connector(g *Globals, a *app.App) (connectors.Connector, error) {
	for _, x := range s.extra {
		if arg, ok := strings.CutPrefix(s.source, x.Prefix); ok {
			return x.New(arg, g, a, &s.gen)
		}
	}
	switch s.source {
	case "":
		return nil, nil
	case "gen":
		gn, err := s.gen.Generator(g)
		if err != nil {
			return nil, err
		}
		return &gen.Connector{Gen: gn, Rate: s.rate}, nil
	case "replay":
		if s.file == "" {
			return nil, errors.New("--source replay needs --file")
		}
		c := &replay.Connector{Path: s.file, Rate: s.rate, Limits: Limits(g)}
		if s.file == "-" {
			c.In = os.Stdin
		}
		return c, nil
	}
	known := []string{"gen", "replay"}
	for _, x := range s.extra {
		known = append(known, x.Prefix+"…")
	}
	last := len(known) - 1
	return nil, fmt.Errorf("unknown --source %q (%s or %s)", s.source, strings.Join(known[:last], ", "), known[last])
}

// RunCommand is the run command: every stage in one process, the connectors
// of the config and a built-in source (gen, replay and the extra ones).
func RunCommand(extra ...Source) Command {
	return func(g *Globals) *cobra.Command { return runCmd(g, extra) }
}

func runCmd(g *Globals, extra []Source) *cobra.Command {
	sf := sourceFlags{extra: extra}
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
			a, err := app.Open(ctx, g.Cfg, g.Log)
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
				if configured, err = ConfiguredConnectors(g, a, nil, nil); err != nil {
					return err
				}
			}
			if a.Bus.Embedded() && a.Bus.ClientURL() != "" {
				g.Log.Info().Str("url", a.Bus.ClientURL()).Msg("embedded NATS server listening")
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
			go func() { connDone <- RunConnectors(stageCtx, a, configured) }()

			if src != nil {
				pub := a.Publisher(src.Name())
				if err := src.Run(ctx, pub); err != nil {
					stopStages()
					wait()
					<-connDone
					return fmt.Errorf("source %s: %w", src.Name(), err)
				}
				st := pub.Stats()
				g.Log.Info().Str("source", src.Name()).Int64("published", st.Published).Int64("duplicates", st.Duplicates).Int64("invalid", st.Invalid).Msg("source finished")
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
				g.Log.Info().Msg("drained: every stage has processed everything")
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

func doMigrate(ctx context.Context, g *Globals, a *app.App) error {
	conn, err := a.ClickHouse()
	if err != nil {
		return err
	}
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("reaching ClickHouse at %s: %w", g.Cfg.ClickHouse.Addr, err)
	}
	_, err = chsink.Migrate(ctx, conn, g.Cfg.ClickHouse.Database, g.Log)
	return err
}
