package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/termsafe"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
)

func reportCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Print IWOM reports queried from the ClickHouse rollups (volume, sov, sentiment, keywords, kols, top-posts, spikes)",
		Long: `Named reports on the rollup tables: the same reports GET /v1/reports/<name>
of "iwom serve" returns. Common flags: --brand (repeat or comma-separate; ids
or names), --platform, --from/--to (RFC 3339, "2006-01-02 15:04" or a date,
in --tz) or --since 24h|7d, --interval 5m|15m|hour|day, --tz (default UTC),
--format table|json|csv.`,
	}
	for _, s := range report.Specs() {
		cmd.AddCommand(namedReportCmd(g, s))
	}
	cmd.AddCommand(summaryCmd(g), checkCmd(g), rebuildCmd(g))
	return cmd
}

// namedReportCmd turns report s's parameters into flags; the values go to
// the same parser as the API's query string.
func namedReportCmd(g *cli.Globals, s *report.Spec) *cobra.Command {
	var brandIDs, platforms []string
	str := map[string]*string{}
	cmd := &cobra.Command{
		Use:   s.Name,
		Short: s.Summary,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := url.Values{}
			if len(brandIDs) > 0 {
				v["brand"] = brandIDs
			}
			if len(platforms) > 0 {
				v["platform"] = platforms
			}
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if p, ok := str[f.Name]; ok {
					v.Set(f.Name, *p)
				}
			})
			v.Set("format", *str["format"])
			conn, err := chsink.Open(g.Cfg.ClickHouse)
			if err != nil {
				return err
			}
			defer conn.Close()
			wl, err := brands.Load(g.Cfg.Enrich.BrandsFile)
			if err != nil {
				return err
			}
			e := &report.Engine{Conn: conn, DB: g.Cfg.ClickHouse.Database, WatchList: wl}
			res, err := e.Run(cmd.Context(), s.Name, v)
			if err != nil {
				if errors.Is(err, report.ErrBadParam) {
					return fmt.Errorf("%w (see iwom report %s --help)", err, s.Name)
				}
				return err
			}
			return res.Write(os.Stdout, v.Get("format"))
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&brandIDs, "brand", nil, "brand ids or names (repeat or comma-separate; default every brand)")
	f.StringSliceVar(&platforms, "platform", nil, "platforms (weibo, wechat, …; default all)")
	flags := [][2]string{
		{"from", "start of the window (RFC 3339, \"2006-01-02 15:04\", a date in --tz, or Unix seconds)"},
		{"to", "end of the window, exclusive (default now)"},
		{"since", "window ending at --to: 24h, 90m, 7d (default 24h)"},
		{"tz", "time zone of day/hour buckets and printed times (e.g. Asia/Shanghai)"},
	}
	if s.Series {
		flags = append(flags, [2]string{"interval", "bucket width: 5m, 15m, hour or day (default " + s.DefaultInterval + ")"})
	}
	for _, x := range s.Extra {
		switch x {
		case "limit":
			flags = append(flags, [2]string{"limit", fmt.Sprintf("rows per brand (default %d, at most %d)", s.DefaultLimit, s.MaxLimit)})
		case "sort":
			flags = append(flags, [2]string{"sort", "order: " + strings.Join(s.Sorts, ", ") + " (default " + s.DefaultSort + ")"})
		case "label":
			flags = append(flags, [2]string{"label", "only posts of this sentiment toward the brand: positive, neutral or negative"})
		case "baseline":
			flags = append(flags, [2]string{"baseline", "buckets whose mean is the baseline (default " + strconv.Itoa(report.DefaultSpikeBL) + ")"})
		case "ratio":
			flags = append(flags, [2]string{"ratio", "a bucket breaks out at this multiple of its baseline (default 3)"})
		case "min":
			flags = append(flags, [2]string{"min", "and with at least this many posts (default 20)"})
		}
	}
	for _, fl := range flags {
		str[fl[0]] = f.String(fl[0], "", fl[1])
	}
	str["format"] = f.String("format", "table", "table, json or csv")
	return cmd
}

func openCH(g *cli.Globals) (driver.Conn, error) { return chsink.Open(g.Cfg.ClickHouse) }

// summaryCmd is the per-brand table `make demo` has printed since the start.
func summaryCmd(g *cli.Globals) *cobra.Command {
	var format string
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Posts per brand with positive / neutral / negative counts and net sentiment (from iwom.posts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := openCH(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			rows, err := chsink.BrandSummary(cmd.Context(), conn, g.Cfg.ClickHouse.Database, from)
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
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%+.2f\t%d\t\n", termsafe.Cell(r.Brand), r.Posts, r.Positive, r.Neutral, r.Negative, r.Net, r.Authors)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().DurationVar(&since, "since", 0, "only posts created in this last span (0: all)")
	return cmd
}

// window reads --from/--to (zero: unbounded).
func window(from, to string) (time.Time, time.Time, error) {
	var f, t time.Time
	var err error
	if from != "" {
		if f, err = time.Parse(time.RFC3339, from); err != nil {
			return f, t, fmt.Errorf("--from: %w", err)
		}
	}
	if to != "" {
		if t, err = time.Parse(time.RFC3339, to); err != nil {
			return f, t, fmt.Errorf("--to: %w", err)
		}
	}
	return f, t, nil
}

func checkCmd(g *cli.Globals) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Compare every rollup with direct counts on iwom.posts; exit 1 on any difference",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, t, err := window(from, to)
			if err != nil {
				return err
			}
			conn, err := openCH(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			ms, err := chsink.CheckRollups(cmd.Context(), conn, g.Cfg.ClickHouse.Database, f, t)
			if err != nil {
				return err
			}
			for i, m := range ms {
				if i == 50 {
					fmt.Printf("… and %d more\n", len(ms)-50)
					break
				}
				fmt.Println(m)
			}
			if len(ms) > 0 {
				fmt.Fprintf(os.Stderr, "%d rollup groups differ from iwom.posts (iwom report rebuild fixes them)\n", len(ms))
				return cli.ExitCode(1)
			}
			fmt.Println("every rollup equals iwom.posts")
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first hour to check (RFC 3339; default all)")
	cmd.Flags().StringVar(&to, "to", "", "end of the hours to check (RFC 3339; default all)")
	return cmd
}

func rebuildCmd(g *cli.Globals) *cobra.Command {
	var from, to string
	var all bool
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Repair the rollups of every hour (or --from/--to) so that they equal iwom.posts",
		Long: `The sink keeps the rollups exact as it inserts (materialized views add each
row's signed contribution). rebuild is the repair tool for what happened
outside it (rows written by hand, a server killed while its views ran): for
each hour holding posts in the window it compares brand_posts and every
rollup with the live rows of posts_store and inserts the differences, so
running it twice changes nothing the second time. Run it while no sink
writes the same hours (iwom report check tells whether it is needed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, t, err := window(from, to)
			if err != nil {
				return err
			}
			_ = all // every hour is the default; --all is kept for scripts
			conn, err := openCH(g)
			if err != nil {
				return err
			}
			defer conn.Close()
			if t.IsZero() {
				t = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			start := time.Now()
			hours, fixed, err := chsink.RepairRange(cmd.Context(), conn, g.Cfg.ClickHouse.Database, f, t)
			if err != nil {
				return err
			}
			fmt.Printf("checked %d hours, wrote %d corrections in %s\n", hours, fixed, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every hour that holds posts (the default)")
	cmd.Flags().StringVar(&from, "from", "", "repair the hours from (RFC 3339)")
	cmd.Flags().StringVar(&to, "to", "", "repair the hours before (RFC 3339)")
	return cmd
}
