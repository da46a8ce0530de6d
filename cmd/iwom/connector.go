package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/connectors/registry"
)

func connectorCmd(g *cli.Globals) *cobra.Command {
	var names []string
	cmd := &cobra.Command{
		Use:   "connector [KIND…]",
		Short: "Run the platform connectors configured under connectors: (all, or those of KIND / --name)",
		Long: `Runs connector instances from the connectors: list of the config, each
publishing on iwom.raw.<platform>: weibo (Open API v2 poller), weibo-mobile
(m.weibo.cn poller), wechat-push (Official Account push receiver),
wechat-mp (articles and comments poller), http (generic ingest). Pollers
with once: true stop when caught up; the others run until SIGTERM, then
flush what they accepted. See pipeline/connectors/README.md.`,
		Example: "  iwom connector weibo\n  iwom connector --name mp-main",
		RunE: func(cmd *cobra.Command, kinds []string) error {
			for _, k := range kinds {
				if !slices.Contains(registry.Kinds(), k) {
					return fmt.Errorf("unknown connector kind %q (%s)", k, strings.Join(registry.Kinds(), ", "))
				}
			}
			ctx := cmd.Context()
			a, err := connectStage(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			cs, err := cli.ConfiguredConnectors(g, a, kinds, names)
			if err != nil {
				return err
			}
			if len(cs) == 0 {
				return errors.New("no connector in the config matches (see connectors: in configs/iwom.yaml)")
			}
			if err := a.ServeMetrics(ctx); err != nil {
				return err
			}
			return cli.RunConnectors(ctx, a, cs)
		},
	}
	cmd.Flags().StringSliceVar(&names, "name", nil, "only the connector instances with these names")
	return cmd
}
