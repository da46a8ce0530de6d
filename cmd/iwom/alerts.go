package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/stage"
)

func alertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "Run the alert engine, or read alerts"}
	cmd.AddCommand(&cobra.Command{
		Use:   "run",
		Short: "Run the alert engine alone (iwom.enriched.* → iwom.alerts.<brand>.<kind>)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveStage(cmd, g, func(a *app.App) (*stage.Runner, error) { return a.AlertsRunner(), nil })
		},
	})
	var brand, format string
	var all bool
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print alerts as they are published (--all: stored ones first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app.Open(cmd.Context(), g.cfg, g.log)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Bus.Follow(cmd.Context(), bus.StreamAlerts, alertFilter(brand), all, func(m jetstream.Msg) error {
				return printAlert(m, format)
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the alerts stored in the alerts stream, and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app.Open(cmd.Context(), g.cfg, g.log)
			if err != nil {
				return err
			}
			defer a.Close()
			var as []*alerts.Alert
			err = a.Bus.ReadAll(cmd.Context(), bus.StreamAlerts, alertFilter(brand), func(m jetstream.Msg) error {
				var al alerts.Alert
				if err := json.Unmarshal(m.Data(), &al); err == nil {
					as = append(as, &al)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if format == "json" {
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
			fmt.Fprintln(tw, "WINDOW (UTC)\tBRAND\tRULE\tSTATE\tNEGATIVE\tBASELINE\tRATIO\tSAMPLE")
			for _, al := range as {
				sample := ""
				if len(al.SampleTexts) > 0 {
					sample = truncate(al.SampleTexts[0], 40)
				}
				fmt.Fprintf(tw, "%s–%s\t%s\t%s\t%s\t%d\t%.1f\t%.1f\t%s\n", al.WindowStart.Format("01-02 15:04"), al.WindowEnd.Format("15:04"), al.Brand, al.Rule, al.State, al.Observed, al.Baseline, al.Ratio, sample)
			}
			return tw.Flush()
		},
	}
	for _, c := range []*cobra.Command{tail, list} {
		c.Flags().StringVar(&brand, "brand", "", "only this brand id")
		c.Flags().StringVar(&format, "format", "text", "text or json")
	}
	tail.Flags().BoolVar(&all, "all", false, "print the stored alerts first")
	cmd.AddCommand(tail, list)
	return cmd
}

func alertFilter(brand string) string {
	if brand == "" {
		return bus.AlertsPrefix + ">"
	}
	return bus.AlertsPrefix + brand + ".>"
}

func printAlert(m jetstream.Msg, format string) error {
	if format == "json" {
		_, err := fmt.Fprintln(os.Stdout, string(m.Data()))
		return err
	}
	var al alerts.Alert
	if err := json.Unmarshal(m.Data(), &al); err != nil {
		fmt.Printf("%s: unreadable alert: %v\n", m.Subject(), err)
		return nil
	}
	fmt.Printf("[%s] %s %s %s: %d negative posts in %s–%s (baseline %.1f, ×%.1f) e.g. %s\n",
		al.FiredAt.Format("15:04:05"), al.Brand, al.Rule, al.State, al.Observed,
		al.WindowStart.Format("01-02 15:04"), al.WindowEnd.Format("15:04"), al.Baseline, al.Ratio, strings.Join(al.SampleIDs, ","))
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
