package sentiment

import (
	"fmt"
	"math"
	"unicode"
)

// The reference point the sentiment targets were set against: "a plain
// naive Bayes over character bigrams". NaiveBayesBaseline rebuilds it so
// the shipped model can be compared with it on the same split, and so the
// figures quoted in docs/QUALITY.md can be reproduced
// (`iwomlab train sentiment --baseline`).

// NaiveBayesBaseline trains, for each of the Corpora files in dataDir, a
// multinomial naive Bayes over the character bigrams of the file's
// training rows (each distinct bigram of a text counted once, bigrams
// spanning white space left out, Laplace smoothing, class priors from the
// rows; Weibo rows by their polarity, surprise left out) and scores it on
// the file's held-out rows of the given split. Texts are read as stored
// (no normalisation). Only the polarity fields of the reports mean
// anything: the baseline has no emotions and no neutral band.
func NaiveBayesBaseline(dataDir string, split Split) (map[string]*EvalReport, error) {
	out := map[string]*EvalReport{}
	for _, c := range Corpora {
		train, heldOut, _, err := loadSplit(dataDir, c.File, split)
		if err != nil {
			return nil, fmt.Errorf("naive Bayes baseline: %w", err)
		}
		nb := newBigramNB()
		for _, r := range train {
			if p := c.Labels.Polarity(r.Label); p != 0 {
				nb.add(r.Text, p > 0)
			}
		}
		nb.finish()
		out[c.File] = EvaluateWith(nb.predict, heldOut, c.Labels)
	}
	return out, nil
}

// bigramNB is a two-class multinomial naive Bayes over binarised character
// bigrams.
type bigramNB struct {
	count  map[uint64]*[2]float64 // bigram → texts containing it, per class
	docs   [2]float64             // texts per class
	tokens [2]float64             // bigram occurrences per class (binarised)
	prior  [2]float64             // log P(class)
	denom  [2]float64             // log(tokens + vocabulary size)
	seen   map[uint64]bool        // scratch: bigrams of the current text
}

func newBigramNB() *bigramNB {
	return &bigramNB{count: map[uint64]*[2]float64{}, seen: map[uint64]bool{}}
}

// bigrams calls f once for each distinct bigram of text.
func (nb *bigramNB) bigrams(text string, f func(uint64)) {
	clear(nb.seen)
	var prev rune = -1
	for _, r := range text {
		if unicode.IsSpace(r) {
			prev = -1
			continue
		}
		if prev >= 0 {
			k := pair(prev, r)
			if !nb.seen[k] {
				nb.seen[k] = true
				f(k)
			}
		}
		prev = r
	}
}

func (nb *bigramNB) add(text string, positive bool) {
	c := 0
	if positive {
		c = 1
	}
	nb.docs[c]++
	nb.bigrams(text, func(k uint64) {
		n := nb.count[k]
		if n == nil {
			n = new([2]float64)
			nb.count[k] = n
		}
		n[c]++
		nb.tokens[c]++
	})
}

func (nb *bigramNB) finish() {
	v := float64(len(nb.count))
	total := nb.docs[0] + nb.docs[1]
	for c := range 2 {
		nb.prior[c] = math.Log(nb.docs[c] / total)
		nb.denom[c] = math.Log(nb.tokens[c] + v)
	}
}

// predict scores text by the log-odds of the positive class (bigrams never
// seen in training are left out), squashed into (-1, 1).
func (nb *bigramNB) predict(text string) Prediction {
	z := nb.prior[1] - nb.prior[0]
	n := 0
	nb.bigrams(text, func(k uint64) {
		if c := nb.count[k]; c != nil {
			z += math.Log(c[1]+1) - nb.denom[1] - math.Log(c[0]+1) + nb.denom[0]
			n++
		}
	})
	return Prediction{Result: Result{Score: math.Tanh(z / 2)}, Features: n}
}
