package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReadAll calls fn for every message stored in stream on subject (a
// filter, wildcards allowed), oldest first, with an ordered ephemeral
// consumer; it returns when it has seen everything stored when it started.
func (b *Bus) ReadAll(ctx context.Context, stream, subject string, fn func(jetstream.Msg) error) error {
	s, err := b.stream(ctx, stream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", stream, err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", stream, err)
	}
	for {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return fmt.Errorf("reading stream %s: %w", stream, err)
		}
		n := 0
		done := false
		for m := range batch.Messages() {
			n++
			if err := fn(m); err != nil {
				return err
			}
			if md, _ := m.Metadata(); md != nil && md.Sequence.Stream >= last {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("reading stream %s: %w", stream, err)
		}
		if done || n == 0 {
			return nil
		}
	}
}
