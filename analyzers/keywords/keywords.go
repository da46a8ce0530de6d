// Package keywords picks a post's top-k keywords by TF-IDF: nouns, verbs
// and adjectives (by the segmenter dictionary's part of speech) and words
// the dictionary does not know (slang, names), of two or more characters,
// weighted by how rare they are in a reference corpus; stop words and
// excluded names (a brand's own names) are left out.
//
// The IDF table (configs/dict/idf.txt) is built from the shared corpora by
// BuildIDF (`iwomlab train keywords`): document frequencies of the segmented,
// normalised texts of weibo_emotion_17k, waimai_10k,
// online_shopping_10_cats and ChnSentiCorp_htl_all, each distinct text
// counted once.
package keywords

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/iwom/iwom/configs/dict"
)

// Extractor holds an IDF table and a stop-word set. It is read-only after
// construction and safe for concurrent use.
type Extractor struct {
	idf     map[string]float32
	unseen  float32 // IDF of words not in the table (seen in at most one document)
	stop    map[string]struct{}
	posFunc func(string) string
}

// NewDefault builds an Extractor from the embedded IDF table and stop
// words (configs/dict); pos gives a word's part of speech ("" when
// unknown).
func NewDefault(pos func(string) string) (*Extractor, error) {
	return New(strings.NewReader(dict.IDF), dict.StopWords(), pos)
}

// New builds an Extractor from an IDF table in the format WriteIDF writes
// and a stop-word list.
func New(idf io.Reader, stop []string, pos func(string) string) (*Extractor, error) {
	e := &Extractor{stop: make(map[string]struct{}, len(stop)), posFunc: pos}
	for _, w := range stop {
		e.stop[w] = struct{}{}
	}
	if err := e.loadIDF(idf); err != nil {
		return nil, err
	}
	return e, nil
}

// loadIDF reads "# docs N" and "word idf" lines.
func (e *Extractor) loadIDF(r io.Reader) error {
	e.idf = make(map[string]float32, 1<<16)
	sc := bufio.NewScanner(r)
	docs := 0
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "# docs "); ok {
			d, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil {
				return fmt.Errorf("reading IDF table: %q: %w", line, err)
			}
			docs = d
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			return fmt.Errorf("reading IDF table: bad line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 32)
		if err != nil {
			return fmt.Errorf("reading IDF table: bad line %q: %w", line, err)
		}
		e.idf[line[:i]] = float32(v)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading IDF table: %w", err)
	}
	if docs == 0 || len(e.idf) == 0 {
		return fmt.Errorf("reading IDF table: no \"# docs N\" header or no words")
	}
	e.unseen = float32(idf(docs, 1))
	return nil
}

// idf is the smoothed inverse document frequency of a word found in df of
// n documents.
func idf(n, df int) float64 { return math.Log(float64(n+1)/float64(df+1)) + 1 }

// IsStop reports whether w is a stop word.
func (e *Extractor) IsStop(w string) bool {
	_, ok := e.stop[w]
	return ok
}

// IDF returns the IDF of a word.
func (e *Extractor) IDF(w string) float32 {
	if v, ok := e.idf[w]; ok {
		return v
	}
	return e.unseen
}

// Candidate reports whether a token may be a keyword: two or more
// characters, not a stop word, not a hashtag, mention, emoticon, URL or
// number, and a noun, verb or adjective, or a word the dictionary does not
// know.
func (e *Extractor) Candidate(w string) bool {
	if !IDFWorthy(w) {
		return false
	}
	if e.IsStop(w) {
		return false
	}
	pos := e.posFunc(w)
	if pos == "" {
		return true // out-of-vocabulary words (slang, names) often matter most
	}
	switch pos {
	case "ad", "vd", "nx":
		return false
	case "nr":
		// Two-character person names in the dictionary are mostly
		// ordinary words tagged as names.
		return utf8.RuneCountInString(w) > 2
	}
	switch pos[0] {
	case 'n', 'v', 'a':
		return true
	}
	return false
}

type cand struct {
	w     string
	score float32
	first int
}

var candPool = sync.Pool{New: func() any { s := make([]cand, 0, 64); return &s }}

// Extract returns up to k keywords of tokens, best first (TF-IDF, ties in
// order of appearance). exclude (may be nil) removes further words, such
// as brand names.
func (e *Extractor) Extract(tokens []string, k int, exclude func(string) bool) []string {
	if k <= 0 || len(tokens) == 0 {
		return nil
	}
	cp := candPool.Get().(*[]cand)
	cands := (*cp)[:0]
	// A linear scan finds repeats: posts are short, so this costs less
	// than a set (rejected tokens are looked at again when they repeat).
outer:
	for i, t := range tokens {
		for j := range cands {
			if cands[j].w == t {
				cands[j].score += e.IDF(t)
				continue outer
			}
		}
		if !e.Candidate(t) || exclude != nil && exclude(t) {
			continue
		}
		cands = append(cands, cand{t, e.IDF(t), i})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return a.first - b.first
	})
	n := min(k, len(cands))
	var out []string
	if n > 0 {
		out = make([]string, n)
		for i := range out {
			out[i] = cands[i].w
		}
	}
	*cp = cands[:0]
	if cap(cands) <= 4096 {
		candPool.Put(cp)
	}
	return out
}

// IDFWorthy reports whether a token belongs in an IDF table: two or more
// characters, not a hashtag, mention, emoticon, URL or number.
func IDFWorthy(w string) bool {
	if len(w) < 2 || utf8.RuneCountInString(w) < 2 {
		return false
	}
	switch c := w[0]; {
	case c == '#' || c == '@' || c == '[':
		return false
	case c >= '0' && c <= '9':
		return false
	}
	return !strings.HasPrefix(w, "http://") && !strings.HasPrefix(w, "https://")
}

// IDFBuilder counts document frequencies for an IDF table.
type IDFBuilder struct {
	df   map[string]int
	docs int
	seen map[string]struct{}
}

// NewIDFBuilder returns an empty builder.
func NewIDFBuilder() *IDFBuilder {
	return &IDFBuilder{df: map[string]int{}, seen: map[string]struct{}{}}
}

// Add counts one document's tokens (each distinct token once).
func (b *IDFBuilder) Add(tokens []string) {
	b.docs++
	clear(b.seen)
	for _, t := range tokens {
		if _, ok := b.seen[t]; ok {
			continue
		}
		b.seen[t] = struct{}{}
		b.df[t]++
	}
}

// Docs returns the number of documents added.
func (b *IDFBuilder) Docs() int { return b.docs }

// WriteIDF writes the table: a "# docs N" header, then "word idf" lines
// sorted by word for the words found in at least minDF documents that keep
// (may be nil) accepts. Words seen less often get the IDF of df = 1.
func (b *IDFBuilder) WriteIDF(w io.Writer, minDF int, keep func(string) bool) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# IDF table for analyzers/keywords: ln((N+1)/(df+1)) + 1, written by `iwom train keywords`.\n")
	fmt.Fprintf(bw, "# docs %d\n", b.docs)
	words := make([]string, 0, len(b.df))
	for t, n := range b.df {
		if n >= minDF && strings.IndexFunc(t, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }) < 0 && (keep == nil || keep(t)) {
			words = append(words, t)
		}
	}
	sort.Strings(words)
	for _, t := range words {
		fmt.Fprintf(bw, "%s %.3f\n", t, idf(b.docs, b.df[t]))
	}
	return bw.Flush()
}
