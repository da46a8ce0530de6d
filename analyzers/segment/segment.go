// Package segment splits Chinese text into words with gse, using gse's
// dictionary embedded in the binary (no files are read at run time) plus
// user dictionaries: the brand watch-list and network vocabulary.
//
// Hashtags, mentions, emoticons and URLs (found by package extract) stay
// single tokens; white space and punctuation are dropped; Latin words are
// lower-cased; a degree adverb or negator is split off a word the HMM made
// up with it (太甜 → 太 甜). Evaluate scores the segmentation against a
// gold file in the SIGHAN format (`iwomlab eval segment`).
package segment

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ego/gse"

	"github.com/iwom/iwom/analyzers/extract"
)

// Segmenter is safe for concurrent use once built.
type Segmenter struct {
	seg gse.Segmenter
}

// New loads gse's embedded simplified-Chinese dictionary and then each user
// dictionary, given as text in gse's "word [freq [pos]]" line format.
func New(userDicts ...string) (*Segmenter, error) {
	s := &Segmenter{}
	s.seg.SkipLog = true
	var all strings.Builder
	for _, d := range userDicts {
		all.WriteString(d)
		all.WriteByte('\n')
	}
	// gse keeps the first entry of a word, so the user dictionaries are
	// loaded before the embedded one: their frequencies win (the embedded
	// dictionary has 招行 as a rare verb, which would split 用过招行).
	if user := cleanDict(all.String()); user != "" {
		if err := s.seg.LoadDictStr(user); err != nil {
			return nil, fmt.Errorf("loading user dictionary: %w", err)
		}
	}
	if err := s.seg.LoadDictEmbed("zh_s"); err != nil {
		return nil, fmt.Errorf("loading embedded gse dictionary: %w", err)
	}
	return s, nil
}

// cleanDict drops blank and comment lines from a user dictionary.
func cleanDict(d string) string {
	var b strings.Builder
	for _, line := range strings.Split(d, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Words segments plain text (no special spans) and appends the kept words
// to dst.
func (s *Segmenter) Words(dst []string, text string) []string {
	if text == "" {
		return dst
	}
	for _, w := range s.seg.Cut(text, true) {
		if w = clean(w); w != "" {
			if rest, ok := s.adverbHead(w); ok {
				dst = append(dst, w[:len(w)-len(rest)])
				w = rest
			}
			dst = append(dst, w)
		}
	}
	return dst
}

// adverbHead splits a degree adverb or negator off a word the HMM made up
// from single characters (太甜, 很准, 太贵): such words are in no
// dictionary, and keeping the adverb apart keeps the word it modifies
// findable (甜, 准, 贵). Dictionary words (太太, 很多, 不错) stay whole.
func (s *Segmenter) adverbHead(w string) (rest string, ok bool) {
	r, n := utf8.DecodeRuneInString(w)
	switch r {
	case '太', '很', '真', '超', '挺', '更', '最', '好', '不', '没', '特', '蛮', '巨':
	default:
		return "", false
	}
	if n == len(w) {
		return "", false
	}
	if _, _, found := s.seg.Find(w); found {
		return "", false
	}
	return w[n:], true
}

// Tokens segments text, keeping each special span as one token.
func (s *Segmenter) Tokens(text string, spans []extract.Span) []string {
	toks := make([]string, 0, len(text)/4+len(spans))
	prev := 0
	for _, sp := range spans {
		toks = s.Words(toks, text[prev:sp.Start])
		tok := text[sp.Start:sp.End]
		if sp.Kind == extract.URL {
			tok = strings.ToLower(tok[:strings.Index(tok, "//")]) + tok[strings.Index(tok, "//"):]
		}
		toks = append(toks, tok)
		prev = sp.End
	}
	return s.Words(toks, text[prev:])
}

// POS is the dictionary part of speech of word ("" when unknown): gse's
// ICTCLAS-style tags such as n, nr, v, vn, a, d.
func (s *Segmenter) POS(word string) string {
	_, pos, ok := s.seg.Find(word)
	if !ok {
		return ""
	}
	return pos
}

// clean trims a word, drops it when it has no letter or digit, and
// lower-cases ASCII.
func clean(w string) string {
	w = strings.TrimSpace(w)
	if w == "" {
		return ""
	}
	keep := false
	ascii := true
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			keep = true
		}
		if r >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !keep {
		return ""
	}
	if ascii {
		return strings.ToLower(w)
	}
	return w
}
