// Command iwom is the iwom social-listening pipeline: connectors, enrichment,
// the ClickHouse sink and alerts, in one process (`iwom run`) or as separate
// services, and the operator's tools (reports, the dashboard, status, dead
// letters). Training, evaluation, benchmarks and fake platforms are in
// iwomlab (cmd/iwomlab).
package main

import (
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

func main() { cli.Main(newRoot()) }

func newRoot() *cobra.Command {
	return cli.NewRoot("iwom", "iwom: real-time Internet Word-of-Mouth listening for Weibo and WeChat", version,
		cli.RunCommand(), enrichCmd, sinkCmd, alertsCmd, connectorCmd,
		replayCmd, genCmd, analyzeCmd, migrateCmd, natsCmd,
		reportCmd, serveCmd, statusCmd, dlqCmd,
		healthCmd,
	)
}
