package segment

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/iwom/iwom/analyzers/extract"
)

// Scores are word-segmentation scores against a gold segmentation, over
// the words that contain a letter or digit (the segmenter drops
// punctuation, so punctuation is not scored either way).
type Scores struct {
	Sentences int     `json:"sentences"`
	GoldWords int     `json:"gold_words"`
	Words     int     `json:"words"`   // words the segmenter produced
	Correct   int     `json:"correct"` // produced words whose span matches a gold word
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// OOVRecall is the recall of the gold words not in the segmenter's
	// dictionaries (OOVWords of them).
	OOVWords  int     `json:"oov_words"`
	OOVRecall float64 `json:"oov_recall"`
}

// ReadGold reads a gold segmentation in the SIGHAN bakeoff format: one
// sentence per line, words separated by white space (ASCII or the
// ideographic space U+3000). Blank lines are skipped.
func ReadGold(r io.Reader) ([][]string, error) {
	var out [][]string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		ws := strings.FieldsFunc(sc.Text(), func(r rune) bool { return unicode.IsSpace(r) || r == '\u3000' })
		if len(ws) > 0 {
			out = append(out, ws)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading gold segmentation: %w", err)
	}
	return out, nil
}

type span struct{ start, end int } // rune offsets

func scored(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// Evaluate segments each gold sentence (its words joined) as Tokens does
// (hashtags, mentions, emoticons and URLs as single tokens) and scores the
// result.
func (s *Segmenter) Evaluate(gold [][]string) Scores {
	return s.score(gold, func(text string) []string { return s.Tokens(text, extract.Spans(text)) })
}

// score scores the segmentation that cut gives of each gold sentence.
func (s *Segmenter) score(gold [][]string, cut func(text string) []string) Scores {
	var sc Scores
	oovHit := 0
	for _, words := range gold {
		sc.Sentences++
		text := strings.Join(words, "")
		goldSpans := map[span]string{}
		off := 0
		for _, w := range words {
			n := utf8.RuneCountInString(w)
			if scored(w) {
				goldSpans[span{off, off + n}] = w
				sc.GoldWords++
				if s.oov(w) {
					sc.OOVWords++
				}
			}
			off += n
		}
		var toks []string
		for _, t := range cut(text) {
			if scored(t) {
				toks = append(toks, t)
			}
		}
		for _, sp := range locate(text, toks) {
			sc.Words++
			if w, ok := goldSpans[sp]; ok {
				sc.Correct++
				if s.oov(w) {
					oovHit++
				}
			}
		}
	}
	if sc.Words > 0 {
		sc.Precision = float64(sc.Correct) / float64(sc.Words)
	}
	if sc.GoldWords > 0 {
		sc.Recall = float64(sc.Correct) / float64(sc.GoldWords)
	}
	if sc.Precision+sc.Recall > 0 {
		sc.F1 = 2 * sc.Precision * sc.Recall / (sc.Precision + sc.Recall)
	}
	if sc.OOVWords > 0 {
		sc.OOVRecall = float64(oovHit) / float64(sc.OOVWords)
	}
	return sc
}

// oov reports whether a gold word is in none of the segmenter's
// dictionaries.
func (s *Segmenter) oov(w string) bool {
	_, _, ok := s.seg.Find(strings.ToLower(w))
	return !ok
}

// locate finds the rune spans of tokens (as Words returns them: in order,
// lower-cased, punctuation dropped) in text.
func locate(text string, toks []string) []span {
	rs := []rune(strings.ToLower(text))
	out := make([]span, 0, len(toks))
	pos := 0
	for _, t := range toks {
		t = strings.ToLower(t)
		tr := []rune(t)
		for i := pos; i+len(tr) <= len(rs); i++ {
			if string(rs[i:i+len(tr)]) == t {
				out = append(out, span{i, i + len(tr)})
				pos = i + len(tr)
				break
			}
		}
	}
	return out
}
