package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/alerts/alertsrun"
	"github.com/iwom/iwom/pipeline/alerts/forward"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/stage"
	"github.com/iwom/iwom/pipeline/termsafe"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

func alertsCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "Run the alert engine, read alerts, forward them to a webhook"}
	cmd.AddCommand(alertsRunCmd(g), alertsTailCmd(g), alertsListCmd(g), alertsForwardCmd(g), alertsArchiveCmd(g), alertsCheckCmd(g))
	return cmd
}

func alertsRunCmd(g *cli.Globals) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run an alert engine replica (iwom.enriched.* → iwom.alerts.<brand>.<rule>)",
		Long: `Runs the alert engine with the rules of alerts.rules_file (reloaded when it
changes). Replicas share the work through leases in the alerts.lease_bucket KV
bucket: with alerts.partitions 0 one replica runs the engine and the others
wait to take over; with N partitions a router splits posts by brand onto N
partitions and the replicas share the router and the partitions. The state
(windows, baselines, open alerts, cooldowns) is in alerts.state_bucket, so a
replica that stops or dies is replaced without losing or re-sending alerts.

Do not also run the engine inside ` + "`iwom run`" + ` (use iwom run --no-alerts).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := connectStage(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			m := alerts.NewMetrics(a.Reg)
			p, err := alertsrun.LoadParts(a.Bus, g.Cfg.Alerts, m, g.Log.With().Str("component", "alerts").Logger())
			if err != nil {
				return err
			}
			if g.Cfg.Alerts.ClickHouse {
				conn, err := a.ClickHouse()
				if err != nil {
					return err
				}
				p.Archive = chsink.NewAlertArchive(conn, g.Cfg.ClickHouse.Database, m)
			}
			a.ServeMetrics(ctx)
			svc := &alertsrun.Service{Parts: p, ID: id, Stage: a.Metrics, StatsEvery: g.Cfg.Log.StatsInterval}
			return svc.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&id, "replica-id", "", "name of this replica in the lease bucket (default: host-pid-random)")
	return cmd
}

// alertFlags filter alerts for people.
type alertFlags struct {
	brand, rule, state, format string
	minSeverity                int
}

func (f *alertFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.brand, "brand", "", "only this brand id")
	c.Flags().StringVar(&f.rule, "rule", "", "only this rule")
	c.Flags().StringVar(&f.state, "state", "", "only this state: firing, update, resolved or digest")
	c.Flags().IntVar(&f.minSeverity, "min-severity", 0, "only alerts of at least this severity (1-10)")
	c.Flags().StringVar(&f.format, "format", "text", "text or json")
}

// subject is the NATS filter: iwom.alerts.<brand>.<rule> with wildcards.
func (f *alertFlags) subject() string {
	b, r := "*", "*"
	if f.brand != "" {
		b = f.brand
	}
	if f.rule != "" {
		r = f.rule
	}
	if b == "*" && r == "*" {
		return bus.AlertsPrefix + ">"
	}
	return bus.AlertSubject(b, r)
}

func (f *alertFlags) keep(al *alerts.Alert) bool {
	return al.Severity >= f.minSeverity && (f.state == "" || al.State == f.state)
}

func alertsTailCmd(g *cli.Globals) *cobra.Command {
	var f alertFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print alerts as they are published (--all: the stored ones first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app.Connect(cmd.Context(), g.Cfg, g.Log)
			if err != nil {
				return err
			}
			defer a.Close()
			backlog := 0 // only new alerts
			if all {
				backlog = math.MaxInt
			}
			return a.Bus.Feed(cmd.Context(), bus.StreamAlerts, []string{f.subject()}, 0, backlog, func(m bus.FeedMsg) error {
				return printAlert(m, &f)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "print the stored alerts first")
	return cmd
}

func printAlert(m bus.FeedMsg, f *alertFlags) error {
	var al alerts.Alert
	if err := json.Unmarshal(m.Data, &al); err != nil {
		fmt.Printf("%s: unreadable alert: %s\n", termsafe.Cell(m.Subject), termsafe.Cell(err.Error()))
		return nil
	}
	if !f.keep(&al) {
		return nil
	}
	if f.format == "json" {
		_, err := fmt.Fprintln(os.Stdout, string(m.Data))
		return err
	}
	_, err := fmt.Printf("%s  %s\n", al.EventTime.UTC().Format("2006-01-02 15:04:05"), termsafe.Cell(forward.Summary(&al)))
	return err
}

func alertsListCmd(g *cli.Globals) *cobra.Command {
	var f alertFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print the alerts stored in the alerts stream, and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app.Connect(cmd.Context(), g.Cfg, g.Log)
			if err != nil {
				return err
			}
			defer a.Close()
			var as []*alerts.Alert
			err = a.Bus.ReadAll(cmd.Context(), bus.StreamAlerts, f.subject(), func(m jetstream.Msg) error {
				var al alerts.Alert
				if err := json.Unmarshal(m.Data(), &al); err == nil && f.keep(&al) {
					as = append(as, &al)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if f.format == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetEscapeHTML(false)
				for _, al := range as {
					if err := enc.Encode(al); err != nil {
						return err
					}
				}
				return nil
			}
			if len(as) == 0 {
				fmt.Println("no alerts")
				return nil
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "EVENT TIME (UTC)\tBRAND\tRULE\tSTATE\tSEV\tOBSERVED\tBASELINE\tWINDOW (UTC)\tALERT\tTOP KEYWORDS / SAMPLE")
			for _, al := range as {
				what := strings.Join(al.TopKeywords, "、")
				if len(al.SampleTexts) > 0 {
					if what != "" {
						what += " | "
					}
					what += truncate(termsafe.Cell(al.SampleTexts[0]), 30)
				}
				if al.State == alerts.StateDigest {
					what = fmt.Sprintf("%d held messages", len(al.Items))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s–%s\t%s#%d\t%s\n", al.EventTime.UTC().Format("01-02 15:04:05"), termsafe.Cell(al.Brand), termsafe.Cell(al.Rule), termsafe.Cell(al.State), al.Severity,
					num(al.Observed), num(al.Baseline), al.WindowStart.UTC().Format("01-02 15:04"), al.WindowEnd.UTC().Format("15:04"), termsafe.Cell(shortID(al.ID)), al.Seq, termsafe.Cell(what))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Printf("%d alert messages\n", len(as))
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', 5, 64) }

// shortID drops the brand and rule from an alert id (they have columns).
func shortID(id string) string {
	parts := strings.SplitN(id, ":", 3)
	if len(parts) == 3 {
		return parts[2]
	}
	return id
}

func alertsForwardCmd(g *cli.Globals) *cobra.Command {
	var f alertFlags
	var url, secret, secretFile, durable, body string
	var attempts int
	var timeout, retryFor time.Duration
	cmd := &cobra.Command{
		Use:   "forward --url URL --secret SECRET",
		Short: "POST alerts to a webhook, HMAC-signed, with retries (a durable consumer: restarts resume)",
		Long: `Delivers every alert message (firing, update, resolved, digest) of the alerts
stream to a webhook, in order, from a durable consumer (--durable), so a
restarted forwarder resumes where it stopped and several forwarders with the
same --durable share the work.

Each POST carries the alert JSON (--body text: {"text": "<summary>"} for chat
webhooks) and the headers X-Iwom-Alert-Id and Idempotency-Key (<id>#<seq>),
X-Iwom-Timestamp (unix seconds) and X-Iwom-Signature: sha256=<hex of
HMAC-SHA256(secret, timestamp + "." + body)>.

Network errors, timeouts, 408, 429 and 5xx are retried with capped exponential
backoff and jitter (honouring Retry-After up to 30s) for --retry-for, while the
message is kept in progress on the stream; the alerts behind it wait, so they
still arrive in order. An alert still undelivered after --retry-for is
dead-lettered ("webhook unavailable for <retry-for>: <last error>"); other 4xx
answers and undecodable alerts are dead-lettered at once (iwom.dlq.<durable>).
Send dead letters again with ` + "`iwom dlq replay <durable>`" + ` once the webhook is fixed.

The URL's tokens (query, path, user:password) never show in logs or dead-letter
reasons: they show scheme://host/path with the token segments masked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return errors.New("--url is required")
			}
			if err := forward.CheckURL(url); err != nil {
				return fmt.Errorf("--url: %w", err)
			}
			if secretFile != "" {
				data, err := os.ReadFile(secretFile)
				if err != nil {
					return fmt.Errorf("reading --secret-file: %w", err)
				}
				secret = strings.TrimSpace(string(data))
			}
			if secret == "" {
				return errors.New("--secret or --secret-file is required (deliveries are signed)")
			}
			if body != forward.BodyAlert && body != forward.BodyText {
				return fmt.Errorf("--body %q: alert or text", body)
			}
			if retryFor <= 0 {
				return fmt.Errorf("--retry-for %s: must be positive", retryFor)
			}
			ctx := cmd.Context()
			a, err := connectStage(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			n := g.Cfg.NATS
			fw := &forward.Forwarder{URL: url, Secret: []byte(secret), Body: body, MinSeverity: f.minSeverity, RetryFor: retryFor,
				KeepAlive: n.AckWait / 3, Log: g.Log.With().Str("component", "forward").Logger()}
			if timeout > 0 {
				fw.Client = &http.Client{Timeout: timeout}
			}
			r := &stage.Runner{Name: durable, Stream: bus.StreamAlerts, Subject: f.subject(), Stage: forward.Stage{F: fw},
				Batch: 50, Wait: n.FetchWait, Parallel: 1, Bus: a.Bus, Metrics: a.Metrics, StatsEvery: g.Cfg.Log.StatsInterval,
				Log: g.Log.With().Str("stage", durable).Logger()}
			a.ServeMetrics(ctx)
			return r.Run(ctx)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&url, "url", "", "webhook URL")
	cmd.Flags().StringVar(&secret, "secret", "", "shared secret for the HMAC signature")
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "read the secret from this file instead")
	cmd.Flags().StringVar(&durable, "durable", "alerts-forward", "durable consumer name (one per webhook)")
	cmd.Flags().StringVar(&body, "body", forward.BodyAlert, "alert (the alert JSON) or text ({\"text\": summary})")
	cmd.Flags().DurationVar(&retryFor, "retry-for", forward.DefaultRetryFor, "how long to retry an alert while the webhook is unavailable before dead-lettering it")
	cmd.Flags().IntVar(&attempts, "attempts", 5, "ignored: retries last --retry-for")
	_ = cmd.Flags().MarkDeprecated("attempts", "retries now last --retry-for (default 1h)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "HTTP timeout per attempt")
	return cmd
}

func alertsArchiveCmd(g *cli.Globals) *cobra.Command {
	var f alertFlags
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "Copy the alerts stored in the alerts stream into ClickHouse (<database>.alerts; idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := app.Connect(ctx, g.Cfg, g.Log)
			if err != nil {
				return err
			}
			defer a.Close()
			conn, err := a.ClickHouse()
			if err != nil {
				return err
			}
			var batch []*alerts.Alert
			n := 0
			flush := func() error {
				if err := chsink.InsertAlerts(ctx, conn, g.Cfg.ClickHouse.Database, batch); err != nil {
					return err
				}
				n += len(batch)
				batch = batch[:0]
				return nil
			}
			err = a.Bus.ReadAll(ctx, bus.StreamAlerts, f.subject(), func(m jetstream.Msg) error {
				var al alerts.Alert
				if err := json.Unmarshal(m.Data(), &al); err != nil || !f.keep(&al) {
					return nil
				}
				batch = append(batch, &al)
				if len(batch) >= 1000 {
					return flush()
				}
				return nil
			})
			if err == nil {
				err = flush()
			}
			if err != nil {
				return err
			}
			fmt.Printf("%d alert messages written to %s.alerts\n", n, g.Cfg.ClickHouse.Database)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func alertsCheckCmd(g *cli.Globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "check [--rules FILE]",
		Short: "Validate a rules file (default: alerts.rules_file) and list its rules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				file = g.Cfg.Alerts.RulesFile
			}
			rs, err := alerts.LoadRules(file)
			if err != nil {
				return err
			}
			if _, err := alerts.NewEngine(rs, alerts.Options{Slot: g.Cfg.Alerts.Slot, Lateness: g.Cfg.Alerts.AllowedLateness}); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintf(tw, "%s: %d rules\n", termsafe.Cell(rs.Source), len(rs.Rules))
			fmt.Fprintln(tw, "NAME\tKIND\tENABLED\tWINDOW\tCOOLDOWN\tSCOPE")
			for _, r := range rs.Rules {
				scope := "all brands"
				if len(r.Scope.Brands) > 0 {
					scope = strings.Join(r.Scope.Brands, ",")
				}
				if len(r.Scope.Platforms) > 0 {
					scope += " on " + strings.Join(r.Scope.Platforms, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", termsafe.Cell(r.Name), termsafe.Cell(r.Kind), r.IsEnabled(), r.Window.D(), r.Cooldown.D(), termsafe.Cell(scope))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&file, "rules", "", "rules file to check")
	return cmd
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
