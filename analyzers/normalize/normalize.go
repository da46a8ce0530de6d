// Package normalize turns raw post text (plain or HTML, full-width, with
// zero-width and control characters) into clean text for display (Text),
// and that into the simplified-script form used for matching, counting and
// sentiment (Simplified).
package normalize

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/iwom/iwom/analyzers/t2s"
)

// Simplified converts normalised text (see Text) to simplified script with
// OpenCC's tables (package t2s): 蘋果手機 → 苹果手机. Text that is already
// simplified is returned as is, without allocating.
func Simplified(s string) string { return t2s.String(s) }

// Fold is Simplified(Text(s)): the form of raw text that analysis works on.
func Fold(s string) string { return Simplified(Text(s)) }

// Text normalises s: HTML tags removed and entities decoded (only when s
// looks like HTML), <br> and block ends turned into spaces, Unicode NFKC
// (which also maps full-width ASCII to half-width), zero-width and control
// characters dropped, white space folded to single spaces and trimmed.
// Invalid UTF-8 bytes are dropped.
func Text(s string) string {
	if isClean(s) {
		return s
	}
	return clean(s)
}

func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	if looksLikeHTML(s) {
		s = StripHTML(s)
	}
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case isZeroWidth(r):
			continue
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isClean reports whether Text would return s unchanged: valid UTF-8, no
// HTML, NFKC already, single spaces only between words, no zero-width or
// control characters. It lets most posts through without copying.
func isClean(s string) bool {
	prevSpace := true // no leading space
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == ' ':
				if prevSpace {
					return false
				}
				prevSpace = true
			case c < ' ' || c == 0x7f, c == '<', c == '&':
				return false
			default:
				prevSpace = false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || isZeroWidth(r) || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
		// CJK ideographs are stable under NFKC; anything else must have
		// no decomposition and never combine with its neighbours.
		if r < 0x4E00 || r > 0x9FFF {
			p := norm.NFKC.PropertiesString(s[i:])
			if p.Decomposition() != nil || !p.BoundaryBefore() || !p.BoundaryAfter() {
				return false
			}
		}
		prevSpace = false
		i += n
	}
	return !prevSpace || len(s) == 0 // no trailing space
}

func isZeroWidth(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u180e':
		return true
	}
	return false
}

func looksLikeHTML(s string) bool {
	i := strings.IndexByte(s, '<')
	if i >= 0 && i+1 < len(s) {
		c := s[i+1]
		if c == '/' || c == '!' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return strings.IndexByte(s[i:], '>') > 0
		}
	}
	return strings.Contains(s, "&") && strings.Contains(s, ";")
}

// StripHTML removes tags, keeping the alt text of images (Weibo renders
// emoticons as <img alt="[哈哈]">), turns line breaks and block ends into
// spaces, drops <script> and <style> content, and decodes entities.
func StripHTML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, '>')
		if j < 0 {
			// A tag cut off by a truncation (`<img class="rich_pages …`
			// with no '>') is dropped; a lone '<' is text.
			if len(s) < 2 || !tagStart(s[1]) {
				b.WriteString(s)
			}
			break
		}
		tag := s[1:j]
		s = s[j+1:]
		name := tagName(tag)
		switch name {
		case "script", "style":
			if k := strings.Index(strings.ToLower(s), "</"+name); k >= 0 {
				s = s[k:]
			} else {
				s = ""
			}
		case "img":
			if alt := attr(tag, "alt"); alt != "" {
				b.WriteString(alt)
			}
		case "br", "p", "/p", "div", "/div", "li", "/li", "tr", "/tr", "h1", "h2", "h3", "/h1", "/h2", "/h3", "section", "/section":
			b.WriteByte(' ')
		}
	}
	return html.UnescapeString(b.String())
}

// tagStart reports whether c can follow '<' at the start of a tag.
func tagStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!'
}

func tagName(tag string) string {
	tag = strings.TrimSpace(tag)
	end := len(tag)
	for i, r := range tag {
		if r == ' ' || r == '\t' || r == '\n' || r == '/' && i > 0 || r == '>' {
			end = i
			break
		}
	}
	return strings.ToLower(tag[:end])
}

// attr returns the value of attribute name in a tag body, quoted with ' or ".
func attr(tag, name string) string {
	lower := strings.ToLower(tag)
	for off := 0; ; {
		i := strings.Index(lower[off:], name+"=")
		if i < 0 {
			return ""
		}
		i += off
		if i > 0 && lower[i-1] != ' ' && lower[i-1] != '\t' && lower[i-1] != '\n' {
			off = i + len(name)
			continue
		}
		v := tag[i+len(name)+1:]
		if v == "" {
			return ""
		}
		q := v[0]
		if q == '"' || q == '\'' {
			if k := strings.IndexByte(v[1:], q); k >= 0 {
				return html.UnescapeString(v[1 : k+1])
			}
			return ""
		}
		if k := strings.IndexAny(v, " \t\n/>"); k >= 0 {
			return v[:k]
		}
		return v
	}
}
