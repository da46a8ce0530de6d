// Package extract finds the structure of a Weibo/WeChat post in normalised
// text: #hashtags#, @mentions, [emoticons], URLs, and the repost chain
// (`//@user:` quoted text) that follows the reposter's own words.
package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind of a special span.
type Kind uint8

// Span kinds.
const (
	Hashtag Kind = iota + 1
	Mention
	Emoticon
	URL
)

// Span is a special token in the text: [Start, End) byte offsets.
type Span struct {
	Start, End int
	Kind       Kind
}

// Result is what Parse found.
type Result struct {
	OwnText   string   // the author's own words: text before the first //@, empty for a bare "转发微博"
	Chain     string   // the quoted repost chain, from the first //@ on
	Hashtags  []string // topic names without the # marks (and without a [超话] suffix)
	Mentions  []string // names without @, in order, de-duplicated
	Emoticons []string // with brackets, e.g. [哈哈], in order of appearance (repeats kept)
	URLs      []string
	Spans     []Span // special spans of the whole text, in order, non-overlapping
}

// Empty reposts: the platform's default text when the reposter adds nothing.
var emptyReposts = map[string]bool{"转发微博": true, "轉發微博": true, "repost": true, "Repost": true, "转发": true}

// Parse extracts the structure of normalised text (see package normalize).
func Parse(text string) Result {
	var r Result
	own, chain := SplitRepost(text)
	r.OwnText, r.Chain = own, chain
	r.Spans = Spans(text)
	seenTag := map[string]bool{}
	seenMention := map[string]bool{}
	for _, sp := range r.Spans {
		s := text[sp.Start:sp.End]
		switch sp.Kind {
		case Hashtag:
			name := strings.TrimSpace(strings.TrimSuffix(strings.Trim(s, "#＃"), "[超话]"))
			name = strings.TrimSpace(strings.TrimSuffix(name, "超话"))
			if name != "" && !seenTag[name] {
				seenTag[name] = true
				r.Hashtags = append(r.Hashtags, name)
			}
		case Mention:
			name := s[1:]
			if !seenMention[name] {
				seenMention[name] = true
				r.Mentions = append(r.Mentions, name)
			}
		case Emoticon:
			r.Emoticons = append(r.Emoticons, s)
		case URL:
			r.URLs = append(r.URLs, s)
		}
	}
	return r
}

// OwnText returns the author's own words of normalised text (see
// SplitRepost).
func OwnText(text string) string {
	own, _ := SplitRepost(text)
	return own
}

// SplitRepost splits text at the first "//@": the reposter's own words and
// the quoted chain. A bare default repost text counts as no words at all.
func SplitRepost(text string) (own, chain string) {
	own = text
	if i := strings.Index(text, "//@"); i >= 0 {
		own, chain = text[:i], text[i:]
	}
	own = strings.TrimSpace(own)
	if emptyReposts[own] {
		own = ""
	}
	return own, chain
}

// Spans scans text once and returns its special spans.
func Spans(text string) []Span {
	var spans []Span
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '#' || c == 0xEF && strings.HasPrefix(text[i:], "＃"):
			if end := hashtagEnd(text, i); end > 0 {
				spans = append(spans, Span{i, end, Hashtag})
				i = end
				continue
			}
		case c == '@':
			if end := mentionEnd(text, i+1); end > i+1 {
				spans = append(spans, Span{i, end, Mention})
				i = end
				continue
			}
		case c == '[':
			if end := emoticonEnd(text, i+1); end > 0 {
				spans = append(spans, Span{i, end, Emoticon})
				i = end
				continue
			}
		case c == 'h' || c == 'H':
			if end := urlEnd(text, i); end > 0 {
				spans = append(spans, Span{i, end, URL})
				i = end
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(text[i:])
		i += n
	}
	return spans
}

// hashtagEnd finds the closing # (or full-width ＃) of a topic opened at i
// (at most 64 runes, no line break, no nested #), returning the offset
// after it, or 0.
func hashtagEnd(s string, i int) int {
	n := 0
	_, open := utf8.DecodeRuneInString(s[i:])
	for j := i + open; j < len(s); {
		r, w := utf8.DecodeRuneInString(s[j:])
		if r == '#' || r == '＃' {
			if n == 0 {
				return 0
			}
			return j + w
		}
		if r == '\n' || r == '@' && n == 0 || n >= 64 {
			return 0
		}
		n++
		j += w
	}
	return 0
}

func isNameRune(r rune) bool {
	return r == '_' || r == '-' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') ||
		unicode.Is(unicode.Han, r)
}

// mentionEnd returns the end of a nickname starting at i (up to 30 runes).
func mentionEnd(s string, i int) int {
	j, n := i, 0
	for j < len(s) && n < 30 {
		r, w := utf8.DecodeRuneInString(s[j:])
		if !isNameRune(r) {
			break
		}
		j += w
		n++
	}
	// "回复@x:" and "//@x:" end at the colon, which is not part of the name.
	return j
}

// emoticonEnd returns the end of "[name]" where name is 1–8 letters or Han.
func emoticonEnd(s string, i int) int {
	n := 0
	for j := i; j < len(s); {
		r, w := utf8.DecodeRuneInString(s[j:])
		if r == ']' {
			if n == 0 {
				return 0
			}
			return j + 1
		}
		if n >= 8 || !(unicode.Is(unicode.Han, r) || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')) {
			return 0
		}
		n++
		j += w
	}
	return 0
}

// urlEnd returns the end of an http(s) URL starting at i: ASCII
// non-space characters, stopping before Chinese text and trailing
// punctuation.
func urlEnd(s string, i int) int {
	rest := s[i:]
	var p int
	switch {
	case hasPrefixFold(rest, "https://"):
		p = 8
	case hasPrefixFold(rest, "http://"):
		p = 7
	default:
		return 0
	}
	j := i + p
	for j < len(s) {
		c := s[j]
		if c >= utf8.RuneSelf || c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' {
			break
		}
		j++
	}
	for j > i+p && strings.IndexByte(".,;:!?)]", s[j-1]) >= 0 {
		j--
	}
	if j == i+p {
		return 0
	}
	return j
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
