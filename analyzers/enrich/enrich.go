// Package enrich composes the analyzers into the enrichment of one post:
// normalise (display text, then simplified script) → structure (hashtags,
// mentions, emoticons, URLs, repost chain) → segment → brands (names and
// boolean queries) → keywords → sentiment and emotion of the author's own
// words → sentiment per brand.
package enrich

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/extract"
	"github.com/iwom/iwom/analyzers/keywords"
	"github.com/iwom/iwom/analyzers/normalize"
	"github.com/iwom/iwom/analyzers/segment"
	"github.com/iwom/iwom/analyzers/sentiment"
	"github.com/iwom/iwom/configs/dict"
	"github.com/iwom/iwom/pipeline/post"
)

// Enricher is safe for concurrent use.
type Enricher struct {
	Seg       *segment.Segmenter
	Brands    *brands.WatchList
	Keywords  *keywords.Extractor
	Sentiment *sentiment.Model
	TopK      int
}

// NewSegmenter loads the segmenter with gse's embedded dictionary, the
// watch-list's names and the network vocabulary (configs/dict/slang.txt).
func NewSegmenter(wl *brands.WatchList) (*segment.Segmenter, error) {
	return segment.New(wl.DictEntries(), dict.Slang)
}

// New builds an Enricher for a watch-list, loading the segmenter, the
// keyword IDF table and the sentiment model concurrently.
func New(wl *brands.WatchList) (*Enricher, error) {
	var (
		wg         sync.WaitGroup
		seg        *segment.Segmenter
		sm         *sentiment.Model
		segErr, sE error
	)
	wg.Go(func() { seg, segErr = NewSegmenter(wl) })
	wg.Go(func() { sm, sE = sentiment.Default() })
	wg.Wait()
	if err := errors.Join(segErr, sE); err != nil {
		return nil, fmt.Errorf("loading analyzers: %w", err)
	}
	kw, err := keywords.NewDefault(seg.POS)
	if err != nil {
		return nil, fmt.Errorf("loading keyword extractor: %w", err)
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
		wl, err := brands.Load("")
		if err != nil {
			defaultErr = err
			return
		}
		defaultE, defaultErr = New(wl)
	})
	return defaultE, defaultErr
}

// matchBufs recycles the token lists brands are matched on.
var matchBufs = sync.Pool{New: func() any { s := make([]string, 0, 128); return &s }}

// Enrich derives the enriched record of p. Text stays as written (for
// display); NormText is the normalised, simplified-script form that
// tokens, hashtags, brands, keywords and sentiment are taken from.
func (e *Enricher) Enrich(p *post.Post, now time.Time) *post.Enriched {
	out := &post.Enriched{Post: *p, EnrichedAt: now.UTC()}
	text := normalize.Simplified(normalize.Text(p.Text))
	st := extract.Parse(text)
	out.NormText = text
	out.OwnText = st.OwnText
	out.Hashtags = nonNil(st.Hashtags)
	out.Mentions = nonNil(st.Mentions)
	out.Emoticons = nonNil(st.Emoticons)
	out.URLs = st.URLs
	out.Tokens = nonNil(e.Seg.Tokens(text, st.Spans))

	// Brands are matched on the tokens, with the words inside hashtags and
	// mentions after each of them (#西门子冰箱门#, @招商银行信用卡) when
	// they hold a brand name or Latin letters.
	match := out.Tokens
	var mp *[]string
	if len(st.Hashtags)+len(st.Mentions) > 0 {
		mp = matchBufs.Get().(*[]string)
		match = (*mp)[:0]
		for _, t := range out.Tokens {
			match = append(match, t)
			if len(t) > 2 && (t[0] == '#' || t[0] == '@') {
				inner := strings.Trim(strings.TrimSuffix(strings.TrimSuffix(t, "#"), "[超话]"), "#@")
				if e.Brands.NamesIn(inner) || hasLatin(inner) {
					match = e.Seg.Words(match, inner)
				}
			}
		}
	}
	out.Brands = nonNil(e.Brands.Match(match, text))
	if mp != nil {
		clear(match)
		*mp = match[:0]
		matchBufs.Put(mp)
	}
	out.Keywords = nonNil(e.Keywords.Extract(out.Tokens, e.TopK, e.Brands.IsName))

	// Sentiment is judged on the author's own words: an empty repost
	// ("转发微博") inherits nothing from the chain and is neutral. Brand
	// names are masked first: their characters are not an opinion.
	if strings.TrimSpace(st.OwnText) == "" {
		out.Sentiment = post.Sentiment{Score: 0, Label: post.Neutral}
	} else {
		r := e.scoreMasked(st.OwnText)
		out.Sentiment = post.Sentiment{Score: clamp(r.Score), Label: r.Label, Emotion: r.Emotion}
	}
	if len(out.Brands) > 1 {
		out.BrandSentiment = e.brandSentiment(st.OwnText, out.Brands, out.Sentiment)
	}
	return out
}

// Predict scores a bare text as Enrich scores a post: normalised,
// simplified, the author's own words only (nothing for an empty repost),
// brand names masked.
func (e *Enricher) Predict(text string) sentiment.Prediction {
	own := extract.OwnText(normalize.Simplified(normalize.Text(text)))
	if strings.TrimSpace(own) == "" {
		return sentiment.Prediction{Result: sentiment.Result{Label: post.Neutral}}
	}
	return e.predict(own)
}

// PredictText scores a labelled text as a whole, normalised, simplified and
// with brand names masked, but without cutting a repost chain off: corpora
// label the text they hold, and some hold only a quoted chain. It is what
// `iwomlab eval sentiment` measures.
func (e *Enricher) PredictText(text string) sentiment.Prediction {
	return e.predict(normalize.Simplified(normalize.Text(text)))
}

func (e *Enricher) predict(text string) sentiment.Prediction {
	return e.Sentiment.Predict(e.Brands.Mask(text))
}

// maskBufs recycles the buffers brand names are masked into.
var maskBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// scoreMasked scores text with brand names masked. The model keeps nothing
// of the text, so the masked text lives in a recycled buffer.
func (e *Enricher) scoreMasked(text string) sentiment.Result {
	m := e.Sentiment
	if !e.Brands.NamesIn(text) {
		return m.Score(text)
	}
	bp := maskBufs.Get().(*[]byte)
	b := e.Brands.AppendMasked((*bp)[:0], text)
	r := m.Score(unsafe.String(unsafe.SliceData(b), len(b)))
	if cap(b) <= 1<<16 {
		*bp = b[:0]
		maskBufs.Put(bp)
	}
	return r
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

func hasLatin(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
