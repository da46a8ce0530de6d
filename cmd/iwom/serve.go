package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/api"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/dashboard"
	"github.com/iwom/iwom/pipeline/metrics"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
)

func init() { addCommand(serveCmd) }

func serveCmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the dashboard at / and the reports as an HTTP JSON API (GET /v1/reports/<name>), with the live alert stream, /healthz, /readyz and /metrics",
		Long: `Serves the web dashboard at / (open http://127.0.0.1:8080/ by default),
every report of "iwom report" at GET /v1/reports/<name> (the same parameters
as the command's flags, as query parameters: ?brand=siemens&since=24h
&interval=hour; format=json (default), csv or table), the list of reports at
GET /v1/reports, the watch-list at GET /v1/brands, the alerts published on
iwom.alerts.> as server-sent events at GET /v1/alerts/stream?brand=…, and
/healthz, /readyz and /metrics.

The alert stream reads NATS (nats.url; empty: the embedded server, shared
with a running iwom or started on data_dir); until NATS answers, the
dashboard shows the reports and the stream answers 503.

It queries ClickHouse as api.clickhouse_user (a read-only user: see
schemas/README.md), falling back to clickhouse.user. With api.tokens set,
/v1/ needs "Authorization: Bearer <token>".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg := g.cfg
			if listen == "" {
				listen = cfg.API.Listen
			}
			chCfg := cfg.APIClickHouse()
			conn, err := chsink.OpenReader(chCfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			wl, err := app.LoadWatchList(cfg.Enrich.BrandsFile)
			if err != nil {
				return err
			}
			warnIfWritable(ctx, g, conn, chCfg.User)
			reg := metrics.NewRegistry()
			ready := func(ctx context.Context) error {
				if err := conn.Ping(ctx); err != nil {
					return fmt.Errorf("ClickHouse: %w", err)
				}
				return nil
			}
			engine := &report.Engine{Conn: conn, DB: cfg.ClickHouse.Database, WatchList: wl}
			srv := api.New(engine, cfg.API.TokenList(), cfg.API.QueryTimeout, cfg.API.MaxConcurrent, reg, ready, g.log.With().Str("component", "api").Logger())
			srv.Dashboard = dashboard.Handler()
			go connectAlertFeed(ctx, g, srv)
			if cfg.Metrics.Listen != "" && cfg.Metrics.Listen != listen {
				go func() {
					if err := metrics.Serve(ctx, cfg.Metrics.Listen, reg, ready); err != nil {
						g.log.Error().Err(err).Str("listen", cfg.Metrics.Listen).Msg("metrics endpoint failed")
					}
				}()
			}
			return srv.Serve(ctx, listen, func(a net.Addr) {
				g.log.Info().Str("listen", a.String()).Str("clickhouse_user", chCfg.User).Bool("auth", len(cfg.API.TokenList()) > 0).Msg("serving the report API")
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default api.listen, 127.0.0.1:8080)")
	return cmd
}

// connectAlertFeed opens the bus (retrying until NATS answers or ctx ends)
// and gives the server its alert feed; it closes the bus when ctx ends.
func connectAlertFeed(ctx context.Context, g *globals, srv *api.Server) {
	log := g.log.With().Str("component", "alert-stream").Logger()
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		b, err := bus.Open(ctx, g.cfg.NATS, g.cfg.DataDir, log)
		if err == nil {
			srv.SetAlerts(func(ctx context.Context, brands []string, after uint64, fn func(uint64, []byte) error) error {
				var subjects []string
				for _, br := range brands {
					subjects = append(subjects, bus.AlertsPrefix+br+".>")
				}
				return b.Feed(ctx, bus.StreamAlerts, subjects, after, alertBacklog, func(m bus.FeedMsg) error { return fn(m.Seq, m.Data) })
			})
			log.Info().Str("nats", b.ClientURL()).Msg("alert stream connected to NATS")
			<-ctx.Done()
			srv.SetAlerts(nil)
			b.Close()
			return
		}
		log.Warn().Err(err).Dur("retry_in", wait).Msg("alert stream: NATS not reachable")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// alertBacklog is how many of the last stored alert messages a new
// alert stream replays before the live ones.
const alertBacklog = 200

// warnIfWritable logs a warning when the API's ClickHouse user is not
// read-only (the API never writes; a read-only user makes sure of it).
func warnIfWritable(ctx context.Context, g *globals, conn driver.Conn, user string) {
	var ro string
	if err := conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'readonly'").Scan(&ro); err != nil {
		g.log.Warn().Err(err).Msg("cannot tell whether the API's ClickHouse user is read-only (is ClickHouse up?)")
		return
	}
	if ro == "0" {
		g.log.Warn().Str("clickhouse_user", user).Msg("the API's ClickHouse user may write: set api.clickhouse_user to a read-only user (schemas/README.md)")
	}
}
