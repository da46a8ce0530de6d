// Package keywords picks a post's top-k keywords by TF-IDF: content words
// (nouns, verbs, adjectives and unknown multi-character words) weighted by
// how rare they are in a reference corpus, stop words and excluded names
// (a brand's own names) left out.
package keywords

import (
	"bufio"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-ego/gse"
)

// Extractor holds an IDF table and a stop-word set. It is read-only after
// construction and safe for concurrent use.
type Extractor struct {
	idf     map[string]float32
	median  float32
	stop    map[string]bool
	posFunc func(string) string
}

// NewDefault builds an Extractor from gse's embedded IDF table and stop
// words; pos gives a word's part of speech ("" when unknown).
func NewDefault(pos func(string) string) (*Extractor, error) {
	e := &Extractor{stop: map[string]bool{}, posFunc: pos}
	if err := e.loadIDF(gse.ZhIdf); err != nil {
		return nil, err
	}
	var seg gse.Segmenter
	seg.SkipLog = true
	if err := seg.LoadStopEmbed(); err != nil {
		return nil, fmt.Errorf("loading embedded stop words: %w", err)
	}
	for w := range seg.StopWordMap {
		e.stop[w] = true
	}
	for _, w := range extraStop {
		e.stop[w] = true
	}
	return e, nil
}

// extraStop are words that carry no topic in social posts.
var extraStop = []string{"转发", "微博", "转发微博", "觉得", "真的", "还是", "就是", "今天", "一个", "什么", "这个", "那个", "没有", "可以", "已经", "知道", "现在", "时候", "大家", "感觉"}

func (e *Extractor) loadIDF(table string) error {
	e.idf = make(map[string]float32, 280000)
	vals := make([]float32, 0, 280000)
	sc := bufio.NewScanner(strings.NewReader(table))
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 32)
		if err != nil {
			continue
		}
		e.idf[line[:i]] = float32(v)
		vals = append(vals, float32(v))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading IDF table: %w", err)
	}
	if len(vals) == 0 {
		return fmt.Errorf("reading IDF table: empty")
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	e.median = vals[len(vals)/2]
	return nil
}

// IsStop reports whether w is a stop word.
func (e *Extractor) IsStop(w string) bool { return e.stop[w] }

// candidate reports whether a token may be a keyword.
func (e *Extractor) candidate(w string) bool {
	if utf8.RuneCountInString(w) < 2 || e.stop[w] {
		return false
	}
	switch w[0] {
	case '#', '@', '[', 'h':
		if w[0] != 'h' || strings.HasPrefix(w, "http") {
			return false
		}
	}
	if w[0] < utf8.RuneSelf && w[0] >= '0' && w[0] <= '9' {
		return false
	}
	pos := e.posFunc(w)
	if pos == "" {
		return true // out-of-vocabulary words (slang, names) often matter most
	}
	switch pos[0] {
	case 'n', 'v', 'a':
		return pos != "nr" || utf8.RuneCountInString(w) > 2
	case 'l', 'i', 'j':
		return true
	}
	return false
}

// Extract returns up to k keywords of tokens, best first. exclude (may be
// nil) removes further words, such as brand names.
func (e *Extractor) Extract(tokens []string, k int, exclude func(string) bool) []string {
	if k <= 0 || len(tokens) == 0 {
		return nil
	}
	type cand struct {
		w     string
		score float32
		first int
	}
	var cands []cand
	idx := map[string]int{}
	for i, t := range tokens {
		if j, ok := idx[t]; ok {
			cands[j].score += e.weight(t)
			continue
		}
		if !e.candidate(t) || exclude != nil && exclude(t) {
			continue
		}
		idx[t] = len(cands)
		cands = append(cands, cand{t, e.weight(t), i})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].first < cands[j].first
	})
	if len(cands) > k {
		cands = cands[:k]
	}
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i] = c.w
	}
	return out
}

func (e *Extractor) weight(w string) float32 {
	if v, ok := e.idf[w]; ok {
		return v
	}
	return e.median
}
