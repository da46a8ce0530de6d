package enrich

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/pipeline/post"
)

// Per-brand sentiment. A post naming several brands often judges them
// differently ("可口可乐比百事好喝多了，百事太甜了"), so each brand is
// scored on the clauses of the author's own words that concern it:
//
//   - the own words are cut into clauses at ， 。 ！ ？ ； , . ! ? ; ~ and
//     line breaks;
//   - a clause naming brands concerns each of them; in a comparison
//     "A 比/不如/胜过 B …" the brands after the comparison word get the
//     opposite of the clause's score (A比B好 is good for A, bad for B);
//   - a clause naming no brand concerns the first brand of the nearest
//     clause before it that names one (the topic carries on: 招行的APP太难
//     用了，每次都闪退), or, before any brand is named, the first brand
//     named after it;
//   - a brand's score is the mean of its clause scores (each clause scored
//     with all brand names masked), its label by the model's threshold;
//   - a brand named only in the quoted repost chain gets the post's score:
//     the reposter's words are their verdict on what they quote.

// comparatives introduce the second term of a comparison: the brands named
// after them in a clause get the opposite score.
var comparatives = []string{"比", "不如", "胜过", "优于", "强于", "好于", "差于", "逊于", "对比", "相比", "比起"}

type clause struct {
	text  string
	ids   []string // brands named, in order
	after int      // ids[after:] follow a comparative
}

func splitClauses(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '，', '。', '！', '？', '；', ',', '.', '!', '?', ';', '~', '～', '\n', '…':
			if t := strings.TrimSpace(s[start:i]); t != "" {
				out = append(out, t)
			}
			start = i + n
		}
		i += n
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

func (e *Enricher) brandSentiment(own string, ids []string, postS post.Sentiment) []post.BrandSentiment {
	out := make([]post.BrandSentiment, len(ids))
	scores := make(map[string][]float64, len(ids))
	if strings.TrimSpace(own) != "" {
		clauses := e.clauses(own, ids)
		first := -1
		for i, c := range clauses {
			if len(c.ids) > 0 {
				first = i
				break
			}
		}
		if first >= 0 {
			holder := clauses[first].ids[0]
			for _, c := range clauses {
				s := e.scoreMasked(c.text).Score
				if len(c.ids) == 0 {
					scores[holder] = append(scores[holder], s)
					continue
				}
				for k, id := range c.ids {
					v := s
					if k >= c.after {
						v = -s
					}
					if !containsID(c.ids[:k], id) {
						scores[id] = append(scores[id], v)
					}
				}
				holder = c.ids[0]
			}
		}
	}
	for i, id := range ids {
		out[i].Brand = id
		ss := scores[id]
		if len(ss) == 0 {
			out[i].Score, out[i].Label = postS.Score, postS.Label
			continue
		}
		var sum float64
		for _, v := range ss {
			sum += v
		}
		out[i].Score = clamp(sum / float64(len(ss)))
		out[i].Label = e.label(out[i].Score)
	}
	return out
}

// label applies the model's neutral band to a score.
func (e *Enricher) label(s float64) string {
	t := e.Sentiment.Threshold()
	switch {
	case s >= t:
		return post.Positive
	case s <= -t:
		return post.Negative
	}
	return post.Neutral
}

// clauses cuts own words into clauses and finds the brands each names.
func (e *Enricher) clauses(own string, ids []string) []clause {
	parts := splitClauses(own)
	out := make([]clause, len(parts))
	for i, p := range parts {
		c := clause{text: p}
		ms := e.Brands.Mentions(p, ids)
		cmp := comparativeAt(p, ms)
		c.after = math.MaxInt
		for _, m := range ms {
			if cmp >= 0 && m.Start >= cmp && c.after == math.MaxInt {
				c.after = len(c.ids)
			}
			c.ids = append(c.ids, m.ID)
		}
		out[i] = c
	}
	return out
}

// comparativeAt returns the byte offset of a comparative word that comes
// after the first mention and before a later one, or -1.
func comparativeAt(s string, ms []brands.Mention) int {
	if len(ms) < 2 {
		return -1
	}
	best := -1
	for _, w := range comparatives {
		if i := strings.Index(s[ms[0].End:], w); i >= 0 {
			i += ms[0].End
			if i < ms[len(ms)-1].Start && (best < 0 || i < best) {
				best = i
			}
		}
	}
	return best
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
