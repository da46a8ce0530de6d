// Command iwom is the iwom social-listening pipeline: connectors, enrichment,
// the ClickHouse sink and alerts, in one process (`iwom run`) or as separate
// services, and the operator's tools (reports, the dashboard, status, dead
// letters). Training, evaluation, benchmarks and fake platforms are in
// iwomlab (cmd/iwomlab).
package main

import (
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/config"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

func main() { cli.Main(newRoot()) }

func newRoot() *cobra.Command {
	return cli.NewRoot("iwom", "iwom: real-time Internet Word-of-Mouth listening for Weibo and WeChat", version,
		cli.RunCommand(), enrichCmd, sinkCmd, alertsCommand, connectorCmd,
		replayCmd, genCmd, analyzeCmd, migrateCmd, natsCmd,
		reportCmd, serveCmd, statusCmd, dlqCmd,
		healthCmd,
	)
}

// globals is cli.Globals under the field names alerts.go reads (g.cfg,
// g.log); it goes once alerts.go takes a *cli.Globals.
type globals struct {
	cfg *config.Config
	log zerolog.Logger
}

func alertsCommand(c *cli.Globals) *cobra.Command {
	g := &globals{}
	c.OnLoad(func() { g.cfg, g.log = c.Cfg, c.Log })
	return alertsCmd(g)
}
