// Package termsafe makes text from outside (post texts, author names,
// keywords, error messages carrying them) safe to print on a terminal: a
// post must not be able to recolour, retitle, clear or rewrite the
// operator's terminal, hide a line behind a carriage return, or plant a
// hyperlink through an escape sequence.
package termsafe

import (
	"strings"
	"unicode/utf8"
)

// Cell returns s fit for one cell of a table: escape sequences (ESC …
// and their strings up to BEL or ST) are dropped, tabs and line breaks
// become spaces (they would break the columns), and every other control
// character (C0, DEL, C1) and invalid UTF-8 becomes U+FFFD, so that it
// shows instead of acting. Every table printer of iwom passes its text
// cells through Cell.
func Cell(s string) string { return clean(s, false) }

// Text is Cell for multi-line output: newlines and tabs are kept.
func Text(s string) string { return clean(s, true) }

const (
	esc = 0x1b
	bel = 0x07
)

func clean(s string, keepLines bool) string {
	if safe(s, keepLines) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == esc:
			i += escapeLen(s[i:])
			continue
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f':
			b.WriteByte(' ')
		case control(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// safe reports whether s needs no change.
func safe(s string, keepLines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return utf8.ValidString(s[i:]) && !strings.ContainsFunc(s[i:], control)
		}
		if control(rune(c)) && !(keepLines && (c == '\n' || c == '\t')) {
			return false
		}
	}
	return true
}

// control reports C0 controls, DEL and C1 controls.
func control(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }

// escapeLen is the length of the escape sequence at the start of s (which
// starts with ESC): ESC alone when what follows is no sequence.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch c := s[1]; {
	case c == '[': // CSI: parameters and intermediates, then a final byte
		for i := 2; i < len(s); i++ {
			switch b := s[i]; {
			case b >= 0x40 && b <= 0x7e:
				return i + 1
			case b < 0x20 || b > 0x7e:
				return i // broken off: the rest is text
			}
		}
		return len(s)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_': // OSC, DCS, SOS, PM, APC: a string up to BEL or ST
		for i := 2; i < len(s); i++ {
			switch {
			case s[i] == bel:
				return i + 1
			case s[i] == esc && i+1 < len(s) && s[i+1] == '\\':
				return i + 2
			case strings.HasPrefix(s[i:], "\u009c"):
				return i + len("\u009c")
			}
		}
		return len(s)
	case c >= 0x20 && c <= 0x2f: // nF: intermediates, then a final byte
		for i := 2; i < len(s); i++ {
			switch b := s[i]; {
			case b >= 0x30 && b <= 0x7e:
				return i + 1
			case b < 0x20 || b > 0x2f:
				return i
			}
		}
		return len(s)
	case c >= 0x30 && c <= 0x7e: // ESC 7, ESC c, ESC M …
		return 2
	}
	return 1
}
