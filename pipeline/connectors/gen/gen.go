// Package gen is the generator connector (`iwom run --source gen`,
// `iwom gen`): it publishes the synthetic posts of pipeline/synth,
// optionally at a rate.
package gen

import (
	"context"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/synth"
)

// Connector publishes generated posts, optionally at a rate.
type Connector struct {
	Gen  *synth.Generator
	Rate float64 // posts per second; 0 is as fast as possible
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return "gen" }

// Run implements connectors.Connector.
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	return connectors.Paced(ctx, pub, c.Rate, c.Gen.All())
}
