// Package connectors defines how sources of posts plug into iwom: a
// Connector produces Posts and hands them to a Publisher, which validates
// them, publishes them on iwom.raw.<platform> with Nats-Msg-Id
// "<platform>:<id>" (so a post sent twice inside the duplicate window is
// stored once), and dead-letters what is invalid. Each source lives in its
// own package below this one (gen, replay, …).
package connectors

import (
	"context"
)

// Connector is a source of posts.
type Connector interface {
	// Name identifies the connector instance (in logs, metrics and the
	// posts' source field).
	Name() string
	// Run produces posts into pub until ctx ends or, for a finite source,
	// until it is exhausted (then it returns nil after pub.Flush).
	Run(ctx context.Context, pub Publisher) error
}
