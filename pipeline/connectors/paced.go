package connectors

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/time/rate"

	"github.com/iwom/iwom/pipeline/post"
)

// Paced publishes posts at up to perSecond (0: unlimited) and flushes.
// Invalid posts are dead-lettered by the publisher and skipped.
func Paced(ctx context.Context, pub Publisher, perSecond float64, posts []*post.Post) error {
	var lim *rate.Limiter
	if perSecond > 0 {
		burst := int(perSecond / 10)
		if burst < 1 {
			burst = 1
		}
		lim = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	for _, p := range posts {
		if lim != nil {
			if err := lim.Wait(ctx); err != nil {
				return fmt.Errorf("pacing: %w", err)
			}
		}
		if err := pub.Publish(ctx, p); err != nil && !errors.Is(err, post.ErrInvalid) {
			return err
		}
	}
	return pub.Flush(ctx)
}
