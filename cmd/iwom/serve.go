package main

import (
	"context"
	"fmt"
	"net"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/api"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/metrics"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
)

func init() { addCommand(serveCmd) }

func serveCmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the reports as an HTTP JSON API (GET /v1/reports/<name>), with /healthz, /readyz and /metrics",
		Long: `Serves every report of "iwom report" at GET /v1/reports/<name> (the same
parameters as the command's flags, as query parameters: ?brand=siemens&since=24h
&interval=hour; format=json (default), csv or table), the list of reports at
GET /v1/reports, and /healthz, /readyz and /metrics.

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
