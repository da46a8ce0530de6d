// Package bench loads generated enriched posts straight into ClickHouse
// (with the sink's Writer, not through NATS) and measures every report
// from the rollups against the same question asked of iwom.posts.
package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/synth"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// WatchList is the embedded brand watch-list.
func WatchList() (*brands.WatchList, error) {
	return brands.Load("")
}

// Generate makes n posts with the generator (scenario steady or crisis,
// spanning [end-span, end)) and enriches them with the real analyzers.
// A few posts in ten name two brands with opposite per-brand sentiment,
// as the per-brand scorer reports them.
func Generate(n int, seed uint64, scenario string, end time.Time, span time.Duration) ([]*post.Enriched, error) {
	wl, err := WatchList()
	if err != nil {
		return nil, err
	}
	g, err := synth.New(synth.Options{Count: n, Seed: seed, Scenario: scenario, End: end, Span: span}, wl)
	if err != nil {
		return nil, fmt.Errorf("building the generator: %w", err)
	}
	en, err := enrich.Default()
	if err != nil {
		return nil, fmt.Errorf("loading the analyzers: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, 77))
	var out []*post.Enriched
	for _, p := range g.All() {
		p.IngestedAt = p.CreatedAt.Add(time.Duration(rng.IntN(120)) * time.Second)
		e := en.Enrich(p, p.IngestedAt)
		if len(e.Brands) == 1 && rng.IntN(10) == 0 {
			// A comparison: the other brand gets the opposite label.
			other := wl.Brands[rng.IntN(len(wl.Brands))].ID
			if other != e.Brands[0] {
				e.Brands = append(e.Brands, other)
				opp := map[string]string{post.Positive: post.Negative, post.Negative: post.Positive, post.Neutral: post.Positive}[e.Sentiment.Label]
				e.BrandSentiment = []post.BrandSentiment{
					{Brand: e.Brands[0], Score: e.Sentiment.Score, Label: e.Sentiment.Label},
					{Brand: other, Score: -e.Sentiment.Score, Label: opp},
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// LoadOptions size a bulk load.
type LoadOptions struct {
	Posts int           // posts to insert
	Seed  uint64        //
	End   time.Time     // posts span [End-Span, End), in time order
	Span  time.Duration //
	Batch int           // rows per insert (default 20000)
	// Templates are enriched posts whose text, terms, brands and
	// sentiment the loaded posts copy (Generate makes them).
	Templates []*post.Enriched
	// Authors is the size of the author pool (default Posts/20, at least 2000).
	Authors int
	// Write, when set, receives each batch instead of the Writer.
	Write func(ctx context.Context, rows []*post.Enriched) error
}

// Load inserts opt.Posts posts into w's database with the Writer, in time
// order (as a live pipeline would), calling progress after each batch.
// Each post copies a template's text and enrichment, with its own id,
// time, author and engagement.
func Load(ctx context.Context, w *chsink.Writer, opt LoadOptions, progress func(done int)) error {
	if len(opt.Templates) == 0 {
		return fmt.Errorf("loading posts: no templates")
	}
	if opt.Batch <= 0 {
		opt.Batch = 20000
	}
	if opt.Authors <= 0 {
		opt.Authors = max(2000, opt.Posts/20)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	start := opt.End.Add(-opt.Span)
	batch := make([]*post.Enriched, 0, opt.Batch)
	flush := func(done int) error {
		if len(batch) == 0 {
			return nil
		}
		if opt.Write != nil {
			if err := opt.Write(ctx, append([]*post.Enriched(nil), batch...)); err != nil {
				return err
			}
			batch = batch[:0]
			if progress != nil {
				progress(done)
			}
			return nil
		}
		bad, err := w.Insert(ctx, batch)
		if err != nil {
			return fmt.Errorf("inserting posts: %w", err)
		}
		if len(bad) > 0 {
			return fmt.Errorf("inserting posts: %d rows rejected: %v", len(bad), bad[0].Err)
		}
		batch = batch[:0]
		if progress != nil {
			progress(done)
		}
		return nil
	}
	for i := 0; i < opt.Posts; i++ {
		tpl := opt.Templates[rng.IntN(len(opt.Templates))]
		e := *tpl
		at := start.Add(time.Duration(float64(opt.Span) * (float64(i) + rng.Float64()) / float64(opt.Posts))).Truncate(time.Second)
		e.ID = "b" + strconv.FormatUint(opt.Seed, 36) + "-" + strconv.Itoa(i)
		e.CreatedAt, e.IngestedAt, e.EnrichedAt = at, at.Add(time.Minute), at.Add(time.Minute)
		e.URL = "https://weibo.com/" + e.ID
		// Heavy-tailed authors and followers, as the generator makes them.
		a := int(math.Floor(math.Pow(rng.Float64(), 2) * float64(opt.Authors)))
		e.Author = post.Author{ID: strconv.Itoa(1_000_000_000 + a), Name: "用户" + strconv.Itoa(a),
			Followers: int64(50 / math.Pow(1-float64(a%9973)/9973*0.999, 1/1.05))}
		e.Metrics = post.Metrics{
			Reposts:  int64(math.Floor(math.Pow(rng.Float64(), 6) * float64(e.Author.Followers) / 50)),
			Comments: int64(math.Floor(math.Pow(rng.Float64(), 5) * float64(e.Author.Followers) / 80)),
			Likes:    int64(math.Floor(math.Pow(rng.Float64(), 4) * float64(e.Author.Followers) / 20)),
		}
		batch = append(batch, &e)
		if len(batch) == opt.Batch {
			if err := flush(i + 1); err != nil {
				return err
			}
		}
	}
	return flush(opt.Posts)
}
