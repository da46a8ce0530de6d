package post

import (
	"errors"
	"unicode/utf8"
)

// ErrTooLarge marks a post whose encoded form, raw or enriched, cannot fit
// its stream. Errors wrapping it wrap ErrInvalid too.
var ErrTooLarge = errors.New("too large")

// HeaderAllowance is what a message's headers (Nats-Msg-Id and the like)
// may take beside its body within a stream's message size limit.
const HeaderAllowance = 1024

// EnrichedExtra bounds what the enrich stage adds that does not grow with
// the text: field names, sentiment, enriched_at, and the brands a post
// names (a brand name is at most 64 bytes; a watch-list of a few hundred
// brands fits).
const EnrichedExtra = 64 << 10

// JSONLen is the length of s encoded as a JSON string by encoding/json
// (quotes included; <, > and & escaped as \u003c, as json.Marshal does).
func JSONLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6 // \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// EnrichedBound is an upper bound of the size of the enriched form of a
// post whose raw JSON is rawLen bytes and whose normalised text (what the
// enrich stage derives everything from) is norm. The enriched record holds
// the raw post, plus:
//   - norm_text and own_text (a part of norm_text): 2 × JSONLen(norm);
//   - tokens: pieces of norm_text, each at least one byte, so at most
//     len(norm) of them, each costing its escaped bytes and 3 for quotes
//     and comma: JSONLen(norm) + 3 × len(norm);
//   - hashtags, mentions, emoticons and urls: disjoint spans of norm_text,
//     the same bound again for the four lists together;
//   - keywords: tokens, at most JSONLen(norm) + 3 × len(norm) even if every
//     token were one;
//   - EnrichedExtra for the rest.
func EnrichedBound(rawLen int, norm string) int {
	j := JSONLen(norm)
	return rawLen + 2*j + 3*(j+3*len(norm)) + EnrichedExtra
}

// MaxNormExpansion bounds how many bytes normalisation (Unicode NFKC, HTML
// entities, simplified script) can make of one byte of text: NFKC's largest
// expansion is U+FDFA, 3 bytes to 33.
const MaxNormExpansion = 11

// EnrichedBoundFast bounds the enriched size without normalising the text:
// every byte of text becomes at most MaxNormExpansion bytes of norm_text,
// each escaped to at most 6. Where it fits, the text need not be read.
func EnrichedBoundFast(rawLen, textLen int) int {
	n := MaxNormExpansion * textLen
	return rawLen + 2*6*n + 3*(6*n+3*n) + EnrichedExtra
}
