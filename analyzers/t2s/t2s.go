// Package t2s converts traditional Chinese script to simplified, with
// OpenCC's conversion tables (the dictionaries of OpenCC's t2s.json:
// TSPhrases, longest match first, then TSCharacters, taking the first
// candidate), embedded from data/ (Apache-2.0, see data/README.md).
//
// It is script conversion, not vocabulary conversion: Taiwan or Hong Kong
// words (軟體, 滑鼠) keep their wording in simplified script (软体, 滑鼠).
// Text that is already simplified comes back unchanged, as the same string
// (no allocation).
//
// Regenerate the tables from Debian's libopencc-data with
//
//	go generate ./analyzers/t2s/
package t2s

import (
	_ "embed"
	"sort"
	"strings"
	"unicode/utf8"
)

//go:generate sh gen.sh

//go:embed data/TSCharacters.txt
var charsData string

//go:embed data/TSPhrases.txt
var phrasesData string

// The dense table covers the CJK Unified Ideographs and Extension A, where
// almost every traditional character lives; the rest are in a map.
const (
	denseLo = 0x3400
	denseHi = 0x9FFF
)

type phrase struct{ from, to string }

var (
	dense  [denseHi - denseLo + 1]rune // simplified form, 0: unchanged
	sparse = map[rune]rune{}
	// phrases by their first rune, longest first.
	phrases = map[rune][]phrase{}
	// phraseStart marks dense-range runes that begin a phrase.
	phraseStart [(denseHi - denseLo + 1 + 63) / 64]uint64
	// sparseLo is the smallest rune above the dense range that is in
	// sparse or begins a phrase: the maps are not consulted below it.
	sparseLo rune = utf8.MaxRune + 1
)

func init() {
	eachLine(charsData, func(from, to string) {
		f, n := utf8.DecodeRuneInString(from)
		t, m := utf8.DecodeRuneInString(to)
		if n != len(from) || m != len(to) || f == t {
			return
		}
		if f >= denseLo && f <= denseHi {
			dense[f-denseLo] = t
		} else {
			sparse[f] = t
			if f > denseHi {
				sparseLo = min(sparseLo, f)
			}
		}
	})
	eachLine(phrasesData, func(from, to string) {
		f, _ := utf8.DecodeRuneInString(from)
		phrases[f] = append(phrases[f], phrase{from, to})
		if f >= denseLo && f <= denseHi {
			i := f - denseLo
			phraseStart[i/64] |= 1 << (i % 64)
		} else if f > denseHi {
			sparseLo = min(sparseLo, f)
		}
	})
	for _, ps := range phrases {
		sort.Slice(ps, func(i, j int) bool { return len(ps[i].from) > len(ps[j].from) })
	}
}

// eachLine calls fn with the key and the first candidate of each
// "key<TAB>candidate[ candidate…]" line.
func eachLine(data string, fn func(from, to string)) {
	for line := range strings.SplitSeq(data, "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if !ok || k == "" {
			continue
		}
		if i := strings.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		if v != "" {
			fn(k, v)
		}
	}
}

// Rune returns the simplified form of the character r by the character
// table alone, or r when it has none. It does not look at phrases, so use
// it for comparing single characters, and String for text.
func Rune(r rune) rune {
	if r < denseLo {
		return r
	}
	if r <= denseHi {
		if t := dense[r-denseLo]; t != 0 {
			return t
		}
		return r
	}
	if r < sparseLo {
		return r
	}
	if t, ok := sparse[r]; ok {
		return t
	}
	return r
}

// startsPhrase reports whether r begins a phrase of the phrase table.
func startsPhrase(r rune) bool {
	if r >= denseLo && r <= denseHi {
		i := r - denseLo
		return phraseStart[i/64]&(1<<(i%64)) != 0
	}
	if r < sparseLo {
		return false
	}
	_, ok := phrases[r]
	return ok
}

// mayChange reports whether r is converted or begins a phrase.
func mayChange(r rune) bool {
	if r < denseLo {
		return false
	}
	if r <= denseHi {
		i := r - denseLo
		return dense[i] != 0 || phraseStart[i/64]&(1<<(i%64)) != 0
	}
	if r < sparseLo {
		return false
	}
	if _, ok := sparse[r]; ok {
		return true
	}
	_, ok := phrases[r]
	return ok
}

// Needs reports whether String would change s (or might: a phrase whose
// simplified form equals it also counts).
func Needs(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if mayChange(r) {
			return true
		}
		i += n
	}
	return false
}

// String returns s in simplified script. It returns s itself when nothing
// needs converting.
func String(s string) string {
	if !Needs(s) {
		return s
	}
	return string(Append(make([]byte, 0, len(s)), s))
}

// Append appends s in simplified script to dst.
func Append(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if startsPhrase(r) {
			ps := phrases[r]
			matched := false
			for _, p := range ps {
				if strings.HasPrefix(s[i:], p.from) {
					dst = append(dst, p.to...)
					i += len(p.from)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		dst = utf8.AppendRune(dst, Rune(r))
		i += n
	}
	return dst
}
