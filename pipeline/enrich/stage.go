// Package enrich is the enrich stage: raw posts in, enriched posts out on
// iwom.enriched.<platform>. The analysis itself is analyzers/enrich; this
// package only decodes, enriches in parallel and says what to publish.
package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	analysis "github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
)

// Stage enriches each raw post and asks for its enriched form to be
// published with the same Nats-Msg-Id, so that a redelivered raw post is
// stored once downstream. The runner acks a raw post only once its
// enriched form is stored.
type Stage struct {
	E      *analysis.Enricher
	Limits post.Limits
	// MaxBytes is the enriched stream's message size limit: a larger
	// enriched post is refused as invalid (0: no check).
	MaxBytes int
	Workers  int // 0: GOMAXPROCS
}

// Process implements stage.Stage.
func (s *Stage) Process(_ context.Context, msgs []stage.Msg) []stage.Result {
	res := make([]stage.Result, len(msgs))
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(msgs))
	next := make(chan int, len(msgs))
	for i := range msgs {
		next <- i
	}
	close(next)
	now := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := range next {
				out, err := s.one(msgs[i].Data, now)
				if err != nil {
					res[i].Err = err
					continue
				}
				res[i].Outs = []stage.Out{out}
			}
		})
	}
	wg.Wait()
	return res
}

func (s *Stage) one(data []byte, now time.Time) (stage.Out, error) {
	p, err := post.Decode(data, s.Limits)
	if err != nil {
		return stage.Out{}, err
	}
	e := s.E.Enrich(p, now)
	b, err := json.Marshal(e)
	if err != nil {
		return stage.Out{}, fmt.Errorf("%w: encoding enriched post: %v", post.ErrInvalid, err)
	}
	// The door refuses what could not fit (post.EnrichedBound); this
	// catches the rest (a lowered limit, an older message) as permanent.
	if s.MaxBytes > 0 && len(b)+post.HeaderAllowance > s.MaxBytes {
		return stage.Out{}, fmt.Errorf("%w: %w: enriched post %s is %d bytes, over the enriched stream's limit of %d", post.ErrInvalid, post.ErrTooLarge, p.Key(), len(b), s.MaxBytes-post.HeaderAllowance)
	}
	return stage.Out{Subject: bus.EnrichedSubject(p.Platform), Data: b, MsgID: p.Key()}, nil
}
