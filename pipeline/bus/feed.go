package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// FeedMsg is one stored message of a feed: its stream sequence (an SSE
// event id a client can resume after), subject and payload.
type FeedMsg struct {
	Seq     uint64
	Subject string
	Data    []byte
}

// Feed streams the messages of stream on subjects (filters, wildcards
// allowed; all of the stream when empty) to fn, in order, until ctx ends:
// those stored after sequence after, or with after 0 those among the last
// backlog messages of the stream (0: none, only new ones), then each new
// one as it is stored. It
// uses an ordered ephemeral consumer, so nothing is acknowledged and any
// number of feeds can run at once. fn's error ends the feed.
func (b *Bus) Feed(ctx context.Context, stream string, subjects []string, after uint64, backlog int, fn func(FeedMsg) error) error {
	s, err := b.stream(ctx, stream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", stream, err)
	}
	// An after at or past the stream's end (a stale or hostile resume id)
	// means "new messages only", never a wrapped or unreachable start.
	after = min(after, info.State.LastSeq)
	start := after + 1
	if after == 0 {
		start = 1
		if last := info.State.LastSeq; last > uint64(backlog) {
			start = last - uint64(backlog) + 1
		}
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
		InactiveThreshold: time.Minute}
	if len(subjects) > 0 {
		cfg.FilterSubjects = subjects
	}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("following stream %s: %w", stream, err)
	}
	msgs := make(chan jetstream.Msg, 64)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return fmt.Errorf("following stream %s: %w", stream, err)
	}
	defer cc.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("following stream %s: %w", stream, err)
			}
			if err := fn(FeedMsg{Seq: md.Sequence.Stream, Subject: m.Subject(), Data: m.Data()}); err != nil {
				return err
			}
		}
	}
}
