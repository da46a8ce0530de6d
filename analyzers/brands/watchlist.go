// Package brands loads the brand watch-list and finds which brands a post
// names: Chinese names as whole segmented tokens (so a brand is matched as
// a word, not a substring of another word), Latin names case-insensitively
// on word boundaries.
package brands

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Brand is one watch-list entry.
type Brand struct {
	ID      string   `yaml:"id" json:"id"`
	Name    string   `yaml:"name" json:"name"`
	Aliases []string `yaml:"aliases" json:"aliases"`
}

// WatchList is a validated set of brands, ready for matching.
type WatchList struct {
	Brands []Brand
	byID   map[string]*Brand
	cjk    map[string]string // alias -> id, for aliases with non-Latin letters
	latin  []latinAlias      // lower-cased Latin aliases
	mask   *strings.Replacer // every Chinese alias -> a space
}

type latinAlias struct {
	name string
	id   string
}

// ErrInvalid marks a bad watch-list.
var ErrInvalid = errors.New("invalid watch-list")

// Parse reads a watch-list YAML document: {brands: [{id, name, aliases}]}.
func Parse(data []byte) (*WatchList, error) {
	var doc struct {
		Brands []Brand `yaml:"brands"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: parsing YAML: %v", ErrInvalid, err)
	}
	return New(doc.Brands)
}

// New validates brands and builds the matcher.
func New(brands []Brand) (*WatchList, error) {
	w := &WatchList{Brands: brands, byID: map[string]*Brand{}, cjk: map[string]string{}}
	for i := range brands {
		b := &brands[i]
		if !validID(b.ID) {
			return nil, fmt.Errorf("%w: brands[%d].id %q must be lower-case ASCII letters, digits, - or _", ErrInvalid, i, b.ID)
		}
		if w.byID[b.ID] != nil {
			return nil, fmt.Errorf("%w: brands[%d].id %q is used twice", ErrInvalid, i, b.ID)
		}
		if b.Name == "" {
			return nil, fmt.Errorf("%w: brands[%d] (%s) has no name", ErrInvalid, i, b.ID)
		}
		w.byID[b.ID] = b
		names := append([]string{b.Name}, b.Aliases...)
		for _, a := range names {
			a = strings.TrimSpace(a)
			if a == "" {
				return nil, fmt.Errorf("%w: brands[%d] (%s) has an empty alias", ErrInvalid, i, b.ID)
			}
			if isLatin(a) {
				w.latin = append(w.latin, latinAlias{strings.ToLower(a), b.ID})
				continue
			}
			if other, ok := w.cjk[a]; ok && other != b.ID {
				return nil, fmt.Errorf("%w: alias %q belongs to both %s and %s", ErrInvalid, a, other, b.ID)
			}
			w.cjk[a] = b.ID
		}
	}
	var pairs []string
	for a := range w.cjk {
		pairs = append(pairs, a, " ")
	}
	w.mask = strings.NewReplacer(pairs...)
	// Longer Latin names first, so "China Merchants Bank" wins over "CMB".
	sort.SliceStable(w.latin, func(i, j int) bool { return len(w.latin[i].name) > len(w.latin[j].name) })
	return w, nil
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isLatin(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Brand returns the brand with id, or nil.
func (w *WatchList) Brand(id string) *Brand { return w.byID[id] }

// Names returns every name of a brand (display name and aliases).
func (w *WatchList) Names(id string) []string {
	b := w.byID[id]
	if b == nil {
		return nil
	}
	return append([]string{b.Name}, b.Aliases...)
}

// IsName reports whether token is a name of any brand (used to keep a
// brand's own names out of its hot words).
func (w *WatchList) IsName(token string) bool {
	if _, ok := w.cjk[token]; ok {
		return true
	}
	lt := strings.ToLower(token)
	for _, l := range w.latin {
		if l.name == lt {
			return true
		}
	}
	return false
}

// aliasFreq is the dictionary frequency of brand names: high enough that
// segmentation prefers the brand over any split through it ("用过招行" is
// 用 过 招行, not 用 过招 行).
const aliasFreq = 50_000_000

// Mask blanks out every Chinese brand name in text, so that a name's own
// characters (可口 in 可口可乐, 乐 in 施乐) do not count as sentiment about
// the brand.
func (w *WatchList) Mask(text string) string { return w.mask.Replace(text) }

// DictEntries is a gse user dictionary ("word freq pos" lines) holding every
// Chinese alias with a high frequency, so the segmenter never splits one.
func (w *WatchList) DictEntries() string {
	var b strings.Builder
	aliases := make([]string, 0, len(w.cjk))
	for a := range w.cjk {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		fmt.Fprintf(&b, "%s %d nz\n", a, aliasFreq)
	}
	return b.String()
}

// Match returns the sorted ids of the brands named by tokens (Chinese
// aliases, whole tokens) or by text (Latin aliases, on word boundaries).
func (w *WatchList) Match(tokens []string, text string) []string {
	var found []string
	add := func(id string) {
		for _, f := range found {
			if f == id {
				return
			}
		}
		found = append(found, id)
	}
	for _, t := range tokens {
		if id, ok := w.cjk[t]; ok {
			add(id)
		}
	}
	if len(w.latin) > 0 && hasASCIILetter(text) {
		lower := strings.ToLower(text)
		for _, l := range w.latin {
			if containsWord(lower, l.name) {
				add(l.id)
			}
		}
	}
	sort.Strings(found)
	return found
}

func hasASCIILetter(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// containsWord reports whether word occurs in s with no ASCII letter or
// digit right before or after it.
func containsWord(s, word string) bool {
	for off := 0; off <= len(s)-len(word); {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(word)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		off = i + 1
	}
	return false
}

func isWordByte(c byte) bool {
	return c < utf8.RuneSelf && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)))
}
