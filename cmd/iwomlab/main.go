// Command iwomlab is iwom's development binary: it trains the shipped
// models, evaluates the analyzers and the alert rules, benchmarks the
// pipeline and the reports, and runs the pipeline against local fake
// platforms (run --source fake:<kind>). The production binary, iwom
// (cmd/iwom), carries the pipeline and the operator's tools only, and
// nothing of test/.
package main

import (
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

func main() { cli.Main(newRoot()) }

func newRoot() *cobra.Command {
	return cli.NewRoot("iwomlab", "iwomlab: iwom's training, evaluation, benchmarks and fake-platform runs (development only)", version,
		cli.RunCommand(fakeSource), trainCmd, evalCmd, benchCmd, reportCmd,
	)
}

// reportCmd holds the report benchmark; the reports themselves are
// iwom report.
func reportCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Benchmark the reports (the reports themselves: iwom report)"}
	cmd.AddCommand(reportBenchCmd(g))
	return cmd
}
