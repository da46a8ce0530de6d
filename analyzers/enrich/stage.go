package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/post"
)

// Stage is the enrich stage: raw posts in, enriched posts published on
// iwom.enriched.<platform> (with the same Nats-Msg-Id, so a redelivered raw
// post is stored once downstream). A raw message is reported done only
// after its enriched form is acknowledged by the stream.
type Stage struct {
	E       *Enricher
	Bus     *bus.Bus
	Limits  post.Limits
	Workers int // 0: GOMAXPROCS
}

// Process implements stage.Stage.
func (s *Stage) Process(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	outs := make([]bus.Out, len(msgs))
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(msgs) {
		workers = len(msgs)
	}
	var wg sync.WaitGroup
	next := make(chan int, len(msgs))
	for i := range msgs {
		next <- i
	}
	close(next)
	now := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outs[i], errs[i] = s.one(msgs[i].Data(), now)
			}
		}()
	}
	wg.Wait()

	// Publish every success at once, then wait for the acks.
	pub := make([]bus.Out, 0, len(msgs))
	pubIdx := make([]int, 0, len(msgs))
	for i := range msgs {
		if errs[i] == nil {
			pub = append(pub, outs[i])
			pubIdx = append(pubIdx, i)
		}
	}
	for j, r := range s.Bus.PublishAll(ctx, pub) {
		errs[pubIdx[j]] = r.Err
	}
	return errs
}

func (s *Stage) one(data []byte, now time.Time) (bus.Out, error) {
	p, err := post.Decode(data, s.Limits)
	if err != nil {
		return bus.Out{}, err
	}
	e := s.E.Enrich(p, now)
	b, err := json.Marshal(e)
	if err != nil {
		return bus.Out{}, fmt.Errorf("%w: encoding enriched post: %v", post.ErrInvalid, err)
	}
	// The door refuses what could not fit (post.EnrichedBound); this
	// catches the rest (a lowered limit, an older message) as permanent.
	if _, max := bus.MaxMsgSizes(s.Bus.Config()); len(b)+post.HeaderAllowance > max {
		return bus.Out{}, fmt.Errorf("%w: %w: enriched post %s is %d bytes, over the enriched stream's limit of %d", post.ErrInvalid, post.ErrTooLarge, p.Key(), len(b), max-post.HeaderAllowance)
	}
	return bus.Out{Subject: bus.EnrichedSubject(p.Platform), Data: b, MsgID: p.Key()}, nil
}
