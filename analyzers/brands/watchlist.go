// Package brands loads the brand watch-list and finds which brands a post
// names: Chinese names as whole segmented tokens (so a brand is matched as
// a word, not a substring of another word), in either script (蘋果 =
// 苹果), Latin names case-insensitively on word boundaries; or, for a
// brand with a query, by its boolean query over the post's tokens (see
// package query): 小米 AND (手机 OR 雷军) NOT (小米粥 OR 熬).
package brands

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"

	"github.com/iwom/iwom/analyzers/query"
	"github.com/iwom/iwom/analyzers/t2s"
	"github.com/iwom/iwom/configs"
)

// Brand is one watch-list entry.
type Brand struct {
	ID      string   `yaml:"id" json:"id"`
	Name    string   `yaml:"name" json:"name"`
	Aliases []string `yaml:"aliases" json:"aliases"`
	// Query, when set, decides alone whether a post names the brand: a
	// boolean query (package query) over the post's tokens, e.g.
	// 南方航空 OR (南航 NOT (南京航空航天大学 OR 考研)). The names still
	// serve the segmenter's dictionary, masking and hot-word exclusion.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
}

// WatchList is a validated set of brands, ready for matching.
type WatchList struct {
	Brands  []Brand
	byID    map[string]*Brand
	cjk     map[string]string // alias (and its simplified form) -> id, for aliases with non-Latin letters
	latin   []latinAlias      // lower-cased Latin aliases
	queries []brandQuery
	// aliasOnly marks brands matched by their names (no query).
	aliasOnly map[string]bool
	// byFirst indexes the Chinese names (both scripts) by first rune,
	// longest first, for finding them in text.
	byFirst map[rune][]cjkAlias
}

type cjkAlias struct {
	name, id string
}

type brandQuery struct {
	id      string
	q       *query.Query
	anchors []rune // nil: always evaluate
}

type latinAlias struct {
	name string
	id   string
}

// ErrInvalid marks a bad watch-list.
var ErrInvalid = errors.New("invalid watch-list")

// Parse reads a watch-list YAML document: {brands: [{id, name, aliases,
// query}]}.
func Parse(data []byte) (*WatchList, error) {
	var doc struct {
		Brands []Brand `yaml:"brands"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: parsing YAML: %v", ErrInvalid, err)
	}
	return New(doc.Brands)
}

// Load reads the watch-list in file, or the embedded one
// (configs/brands.yaml) when file is "". It is the one way the commands,
// the pipeline, the benchmarks and the tests load a watch-list.
func Load(file string) (*WatchList, error) {
	if file == "" {
		wl, err := Parse(configs.BrandsYAML)
		if err != nil {
			return nil, fmt.Errorf("loading the embedded watch-list: %w", err)
		}
		return wl, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading watch-list: %w", err)
	}
	wl, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("loading watch-list %s: %w", file, err)
	}
	return wl, nil
}

// New validates brands and builds the matcher.
func New(brands []Brand) (*WatchList, error) {
	w := &WatchList{Brands: brands, byID: map[string]*Brand{}, cjk: map[string]string{}, aliasOnly: map[string]bool{}}
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
		if q := strings.TrimSpace(b.Query); q != "" {
			pq, err := query.Parse(q)
			if err != nil {
				return nil, fmt.Errorf("%w: brands[%d] (%s) query: %v", ErrInvalid, i, b.ID, err)
			}
			w.queries = append(w.queries, brandQuery{id: b.ID, q: pq, anchors: pq.Anchors()})
		} else {
			w.aliasOnly[b.ID] = true
		}
		names := append([]string{b.Name}, b.Aliases...)
		for _, a := range names {
			a = strings.TrimSpace(norm.NFKC.String(a))
			if a == "" {
				return nil, fmt.Errorf("%w: brands[%d] (%s) has an empty alias", ErrInvalid, i, b.ID)
			}
			if isLatin(a) {
				w.latin = append(w.latin, latinAlias{strings.ToLower(a), b.ID})
				continue
			}
			for _, form := range []string{a, t2s.String(a)} {
				if other, ok := w.cjk[form]; ok && other != b.ID {
					return nil, fmt.Errorf("%w: alias %q belongs to both %s and %s", ErrInvalid, form, other, b.ID)
				}
				w.cjk[form] = b.ID
			}
		}
	}
	w.byFirst = map[rune][]cjkAlias{}
	for a, id := range w.cjk {
		r, _ := utf8.DecodeRuneInString(a)
		w.byFirst[r] = append(w.byFirst[r], cjkAlias{a, id})
	}
	for _, as := range w.byFirst {
		sort.Slice(as, func(i, j int) bool {
			if len(as[i].name) != len(as[j].name) {
				return len(as[i].name) > len(as[j].name)
			}
			return as[i].name < as[j].name
		})
	}
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

// Mask blanks out every Chinese brand name in text (in either script), so
// that a name's own characters (可口 in 可口可乐, 乐 in 施乐) do not count
// as sentiment about the brand.
func (w *WatchList) Mask(text string) string {
	if !w.NamesIn(text) {
		return text
	}
	return string(w.AppendMasked(make([]byte, 0, len(text)), text))
}

// AppendMasked appends text with every Chinese brand name replaced by a
// space to dst (Mask without allocating, given a buffer).
func (w *WatchList) AppendMasked(dst []byte, text string) []byte {
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if r >= utf8.RuneSelf {
			if as, ok := w.byFirst[r]; ok {
				found := false
				for _, a := range as { // longest first
					if strings.HasPrefix(text[i:], a.name) {
						dst = append(dst, ' ')
						i += len(a.name)
						found = true
						break
					}
				}
				if found {
					continue
				}
			}
		}
		dst = append(dst, text[i:i+n]...)
		i += n
	}
	return dst
}

// DictEntries is a gse user dictionary ("word freq pos" lines) holding every
// Chinese alias (and its simplified form) with a high frequency, so the
// segmenter never splits one.
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

// Match returns the sorted ids of the brands a post names. tokens are the
// post's tokens (simplified script, Latin in lower case, as package
// segment makes them), text its normalised text. A brand without a query
// is named by a Chinese alias as a whole token or a Latin alias on word
// boundaries in text; a brand with a query by its query over tokens.
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
		if id, ok := w.cjk[t]; ok && w.aliasOnly[id] {
			add(id)
		}
	}
	if len(w.latin) > 0 && hasASCIILetter(text) {
		var lower string
		for _, l := range w.latin {
			if !w.aliasOnly[l.id] {
				continue
			}
			if lower == "" {
				lower = strings.ToLower(text)
			}
			if containsWord(lower, l.name) {
				add(l.id)
			}
		}
	}
	if len(w.queries) > 0 {
		var set anchorSet
		for _, t := range tokens {
			set.add(query.TokenAnchor(t))
		}
		for _, bq := range w.queries {
			if bq.anchors != nil && !set.hasAny(bq.anchors) {
				continue
			}
			if bq.q.Match(tokens) {
				add(bq.id)
			}
		}
	}
	sort.Strings(found)
	return found
}

// Query returns the parsed query of a brand, or nil if it has none.
func (w *WatchList) Query(id string) *query.Query {
	for _, bq := range w.queries {
		if bq.id == id {
			return bq.q
		}
	}
	return nil
}

// anchorSet is a 512-bit Bloom-style set of runes (false positives only
// cost a query evaluation).
type anchorSet [8]uint64

func (s *anchorSet) add(r rune) {
	if r < 0 {
		return
	}
	h := uint32(r) * 2654435761 >> 23
	s[h>>6] |= 1 << (h & 63)
}

func (s *anchorSet) hasAny(rs []rune) bool {
	for _, r := range rs {
		h := uint32(r) * 2654435761 >> 23
		if s[h>>6]&(1<<(h&63)) != 0 {
			return true
		}
	}
	return false
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

// NamesIn reports whether text holds a Chinese name of any brand, as a
// substring (a cheap test before segmenting it).
func (w *WatchList) NamesIn(text string) bool {
	for i, r := range text {
		if r < utf8.RuneSelf {
			continue
		}
		for _, a := range w.byFirst[r] {
			if strings.HasPrefix(text[i:], a.name) {
				return true
			}
		}
	}
	return false
}

// Mention is where a brand's name occurs in a text: [Start, End) bytes.
type Mention struct {
	ID         string
	Start, End int
}

// Mentions returns the occurrences of the names of the given brands (all
// brands if ids is nil) in text, in order, longest name first where names
// overlap: Chinese names in either script as substrings, Latin names
// case-insensitively on word boundaries. text should be simplified script.
func (w *WatchList) Mentions(text string, ids []string) []Mention {
	var ms []Mention
	want := func(id string) bool {
		if ids == nil {
			return true
		}
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	}
	for i, r := range text {
		if r < utf8.RuneSelf {
			continue
		}
		for _, a := range w.byFirst[r] {
			if want(a.id) && strings.HasPrefix(text[i:], a.name) {
				ms = append(ms, Mention{a.id, i, i + len(a.name)})
			}
		}
	}
	if hasASCIILetter(text) {
		lower := strings.ToLower(text)
		for _, l := range w.latin {
			if !want(l.id) {
				continue
			}
			for off := 0; off <= len(lower)-len(l.name); {
				i := strings.Index(lower[off:], l.name)
				if i < 0 {
					break
				}
				i += off
				end := i + len(l.name)
				if (i == 0 || !isWordByte(lower[i-1])) && (end == len(lower) || !isWordByte(lower[end])) {
					ms = append(ms, Mention{l.id, i, end})
				}
				off = i + 1
			}
		}
	}
	// Longest first at each start, then drop mentions inside earlier ones.
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Start != ms[j].Start {
			return ms[i].Start < ms[j].Start
		}
		return ms[i].End > ms[j].End
	})
	out := ms[:0]
	end := 0
	for _, m := range ms {
		if m.Start >= end {
			out = append(out, m)
			end = m.End
		}
	}
	return out
}
