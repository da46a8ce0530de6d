package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/api"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/dashboard"
	"github.com/iwom/iwom/pipeline/metrics"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
)

func serveCmd(g *cli.Globals) *cobra.Command {
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
/v1/ needs "Authorization: Bearer <token>" (the scheme in any case). Alert
streams are capped per client (token, or IP without tokens; 8 by default)
and in all (256): past the caps the API answers 429 or 503 with Retry-After. URLs and
errors are logged without their passwords and tokens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg := g.Cfg
			if listen == "" {
				listen = cfg.API.Listen
			}
			chCfg := cfg.APIClickHouse()
			conn, err := chsink.OpenReader(chCfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			wl, err := brands.Load(cfg.Enrich.BrandsFile)
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
			srv := api.New(engine, cfg.API.TokenList(), cfg.API.QueryTimeout, cfg.API.MaxConcurrent, reg, ready, g.Log.With().Str("component", "api").Logger())
			srv.Dashboard = dashboard.Handler()
			srv.MaxStreams, srv.MaxClientStreams = cfg.API.MaxStreams, cfg.API.MaxClientStreams
			go connectAlertFeed(ctx, g, srv)
			if cfg.Metrics.Listen != "" && cfg.Metrics.Listen != listen {
				go func() {
					if err := metrics.Serve(ctx, cfg.Metrics.Listen, reg, ready); err != nil {
						g.Log.Error().Err(err).Str("listen", cfg.Metrics.Listen).Msg("metrics endpoint failed")
					}
				}()
			}
			return srv.Serve(ctx, listen, func(a net.Addr) {
				g.Log.Info().Str("listen", a.String()).Str("clickhouse_user", chCfg.User).Bool("auth", len(cfg.API.TokenList()) > 0).Msg("serving the report API")
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default api.listen, 127.0.0.1:8080)")
	return cmd
}

// connectAlertFeed opens the bus (retrying until NATS answers or ctx ends)
// and gives the server its alert feed; it closes the bus when ctx ends.
func connectAlertFeed(ctx context.Context, g *cli.Globals, srv *api.Server) {
	log := g.Log.With().Str("component", "alert-stream").Logger()
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		b, err := bus.Connect(ctx, g.Cfg.NATS, log)
		if err == nil {
			srv.SetAlerts(alertFeed(b))
			log.Info().Str("nats", redactURL(b.ClientURL())).Msg("alert stream connected to NATS")
			<-ctx.Done()
			srv.SetAlerts(nil)
			b.Close()
			return
		}
		log.Warn().Str("error", redactSecrets(err.Error(), g.Cfg.Secrets())).Dur("retry_in", wait).Msg("alert stream: NATS not reachable")
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

// alertFeed is the API's alert feed on b's alerts stream. An after at or
// above the stream's last sequence (api.LiveTail, a hostile Last-Event-ID,
// an id from before the stream was purged) resumes at the live tail:
// bus.Feed starts at after+1, which would wrap to 0 for the largest
// uint64 (the feed fails and the browser reconnects in a loop) or wait
// for sequences the stream has not reached (nothing is delivered).
func alertFeed(b *bus.Bus) api.AlertFeed {
	return func(ctx context.Context, brands []string, after uint64, fn func(uint64, []byte) error) error {
		var subjects []string
		for _, br := range brands {
			subjects = append(subjects, bus.AlertsPrefix+br+".>")
		}
		if after > 0 {
			info, err := b.StreamInfo(ctx, bus.StreamAlerts)
			if err != nil {
				return err
			}
			// after == LastSeq starts at LastSeq+1: the next alert. On an
			// empty stream after becomes 0, the (empty) backlog.
			after = min(after, info.State.LastSeq)
		}
		return b.Feed(ctx, bus.StreamAlerts, subjects, after, alertBacklog, func(m bus.FeedMsg) error { return fn(m.Seq, m.Data) })
	}
}

// redactURL hides the secrets of a URL before it is logged: the password
// of its userinfo (nats://user:secret@host → nats://user:***@host) and, for
// NATS URLs, a userinfo without password, which is a token
// (nats://token@host → nats://***@host). A comma-separated list of URLs
// (a NATS cluster) is redacted URL by URL; a URL without a scheme is read
// as a NATS URL (as nats.go does); what does not parse loses everything
// between :// and the last @.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOneURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOneURL(s string) string {
	bare := !strings.Contains(s, "://")
	if bare {
		s = "nats://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		scheme, rest, _ := strings.Cut(s, "://")
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			s = scheme + "://***@" + rest[at+1:]
		}
	case u.User == nil:
	default:
		// URL.String escapes the stars: put them back in place.
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
			s = strings.Replace(u.String(), ":%2A%2A%2A@", ":***@", 1)
		} else if natsSchemes[strings.ToLower(u.Scheme)] {
			u.User = url.User("***")
			s = strings.Replace(u.String(), "//%2A%2A%2A@", "//***@", 1)
		}
	}
	if bare {
		s = strings.TrimPrefix(s, "nats://")
	}
	return s
}

var natsSchemes = map[string]bool{"nats": true, "tls": true, "ws": true, "wss": true}

// redactSecrets replaces every secret (config.Config.Secrets: passwords,
// API tokens) found in s, and the userinfo of the URLs in it, before s is
// logged.
func redactSecrets(s string, secrets []string) string {
	for _, x := range secrets {
		if len(x) >= 3 {
			s = strings.ReplaceAll(s, x, "***")
		}
	}
	return urlUserinfo.ReplaceAllString(s, "$1***@")
}

// urlUserinfo matches the userinfo of a URL inside a text.
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s"']+@`)

// warnIfWritable logs a warning when the API's ClickHouse user is not
// read-only (the API never writes; a read-only user makes sure of it).
func warnIfWritable(ctx context.Context, g *cli.Globals, conn driver.Conn, user string) {
	var ro string
	if err := conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'readonly'").Scan(&ro); err != nil {
		g.Log.Warn().Err(err).Msg("cannot tell whether the API's ClickHouse user is read-only (is ClickHouse up?)")
		return
	}
	if ro == "0" {
		g.Log.Warn().Str("clickhouse_user", user).Msg("the API's ClickHouse user may write: set api.clickhouse_user to a read-only user (schemas/README.md)")
	}
}
