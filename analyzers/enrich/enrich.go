// Package enrich composes the analyzers into the enrichment of one post:
// normalise → structure → segment → brands → keywords → sentiment.
package enrich

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/extract"
	"github.com/iwom/iwom/analyzers/keywords"
	"github.com/iwom/iwom/analyzers/normalize"
	"github.com/iwom/iwom/analyzers/segment"
	"github.com/iwom/iwom/analyzers/sentiment"
	"github.com/iwom/iwom/configs"
	"github.com/iwom/iwom/pipeline/post"
)

// Scorer scores the sentiment of a post author's own, normalised words.
type Scorer interface {
	Score(text string) sentiment.Result
}

// Enricher is safe for concurrent use.
type Enricher struct {
	Seg       *segment.Segmenter
	Brands    *brands.WatchList
	Keywords  *keywords.Extractor
	Sentiment Scorer
	TopK      int
}

// New builds an Enricher for a watch-list, loading the segmenter (with the
// brand names and the network-vocabulary dictionary), the IDF table and the
// sentiment model.
func New(wl *brands.WatchList) (*Enricher, error) {
	seg, err := segment.New(wl.DictEntries(), string(configs.SlangDict))
	if err != nil {
		return nil, err
	}
	kw, err := keywords.NewDefault(seg.POS)
	if err != nil {
		return nil, fmt.Errorf("loading keyword extractor: %w", err)
	}
	sm, err := sentiment.Default()
	if err != nil {
		return nil, fmt.Errorf("loading sentiment model: %w", err)
	}
	return &Enricher{Seg: seg, Brands: wl, Keywords: kw, Sentiment: sm, TopK: 5}, nil
}

var (
	defaultOnce sync.Once
	defaultE    *Enricher
	defaultErr  error
)

// Default is an Enricher for the embedded watch-list, built once.
func Default() (*Enricher, error) {
	defaultOnce.Do(func() {
		wl, err := brands.Parse(configs.BrandsYAML)
		if err != nil {
			defaultErr = fmt.Errorf("parsing embedded watch-list: %w", err)
			return
		}
		defaultE, defaultErr = New(wl)
	})
	return defaultE, defaultErr
}

// Enrich derives the enriched record of p.
func (e *Enricher) Enrich(p *post.Post, now time.Time) *post.Enriched {
	out := &post.Enriched{Post: *p, EnrichedAt: now.UTC()}
	norm := normalize.Text(p.Text)
	st := extract.Parse(norm)
	out.NormText = norm
	out.OwnText = st.OwnText
	out.Hashtags = nonNil(st.Hashtags)
	out.Mentions = nonNil(st.Mentions)
	out.Emoticons = nonNil(st.Emoticons)
	out.URLs = st.URLs
	out.Tokens = nonNil(e.Seg.Tokens(norm, st.Spans))

	// Brands are matched on the tokens, and on the words inside hashtags and
	// mentions (#西门子冰箱门#, @招商银行信用卡).
	match := out.Tokens
	if len(st.Hashtags)+len(st.Mentions) > 0 {
		match = append([]string(nil), out.Tokens...)
		for _, h := range st.Hashtags {
			match = e.Seg.Words(match, h)
		}
		for _, m := range st.Mentions {
			match = e.Seg.Words(match, m)
		}
	}
	out.Brands = nonNil(e.Brands.Match(match, norm))
	out.Keywords = nonNil(e.Keywords.Extract(out.Tokens, e.TopK, e.Brands.IsName))

	// Sentiment is judged on the author's own words: an empty repost
	// ("转发微博") inherits nothing from the chain and is neutral. Brand
	// names are masked first: their characters are not an opinion.
	if strings.TrimSpace(st.OwnText) == "" {
		out.Sentiment = post.Sentiment{Score: 0, Label: post.Neutral}
	} else {
		r := e.Sentiment.Score(e.Brands.Mask(st.OwnText))
		out.Sentiment = post.Sentiment{Score: clamp(r.Score), Label: r.Label, Emotion: r.Emotion}
	}
	return out
}

// Analyze enriches a bare text, for `iwom analyze`.
func (e *Enricher) Analyze(text string, now time.Time) *post.Enriched {
	p := &post.Post{Platform: "text", ID: "-", Text: text, CreatedAt: now.UTC(), IngestedAt: now.UTC(), Source: "analyze"}
	return e.Enrich(p, now)
}

func clamp(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return math.Max(-1, math.Min(1, x))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
