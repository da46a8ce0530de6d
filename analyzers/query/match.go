package query

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

type opKind uint8

const (
	opTerm opKind = iota
	opAnd
	opOr
	opNot
	opNear
)

type node struct {
	op      opKind
	col     int
	term    term
	kids    []*node
	n       int  // NEAR distance
	ordered bool // NEAR/nf
	paren   bool // written in parentheses (for error columns only)
}

// positional reports whether the node has match positions: terms,
// phrases, NEAR, and OR of those.
func (n *node) positional() bool {
	switch n.op {
	case opTerm, opNear:
		return true
	case opOr:
		for _, k := range n.kids {
			if !k.positional() {
				return false
			}
		}
		return true
	}
	return false
}

// Match reports whether the query matches a post's tokens: the enriched
// tokens, in order (simplified script and lower-case Latin are expected,
// but any script and case match).
func (q *Query) Match(tokens []string) bool {
	var buf [128]rune
	in := input{toks: tokens}
	if len(tokens) <= len(buf) {
		in.anc = buf[:len(tokens)]
	} else {
		in.anc = make([]rune, len(tokens))
	}
	for i, t := range tokens {
		in.anc[i] = TokenAnchor(t)
	}
	return q.root.eval(&in)
}

// input is a post's tokens with their anchors (see TokenAnchor): a term
// is tried only at tokens that begin with its anchor.
type input struct {
	toks []string
	anc  []rune
}

func (n *node) eval(in *input) bool {
	switch n.op {
	case opTerm:
		for i := range in.toks {
			if n.term.matchAt(in, i) > 0 {
				return true
			}
		}
		return false
	case opAnd:
		for _, k := range n.kids {
			if !k.eval(in) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.eval(in) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].eval(in)
	case opNear:
		return n.anySpan(in)
	}
	return false
}

// span is a [start, end) token range where a positional node matches.
type span struct{ start, end int32 }

// arena holds the spans of the positional nodes being evaluated; nodes
// refer to their spans by index range, as the slice grows.
type arena struct{ buf []span }

var arenas = sync.Pool{New: func() any { return &arena{buf: make([]span, 0, 256)} }}

// maxArena bounds the arenas kept for reuse.
const maxArena = 1 << 16

func (n *node) anySpan(in *input) bool {
	a := arenas.Get().(*arena)
	lo, hi := n.spans(in, a)
	a.buf = a.buf[:0]
	if cap(a.buf) <= maxArena {
		arenas.Put(a)
	}
	return hi > lo
}

// spans appends the spans where a positional node matches to a.buf,
// sorted and without repeats, and returns their index range.
func (n *node) spans(in *input, a *arena) (lo, hi int) {
	lo = len(a.buf)
	switch n.op {
	case opTerm:
		for i := range in.toks {
			if e := n.term.matchAt(in, i); e > 0 {
				a.buf = append(a.buf, span{int32(i), int32(i + e)})
			}
		}
		return lo, len(a.buf) // already in order
	case opOr:
		for _, k := range n.kids {
			k.spans(in, a)
		}
	case opNear:
		alo, ahi := n.kids[0].spans(in, a)
		blo, bhi := n.kids[1].spans(in, a)
		maxLen := int32(0)
		for _, b := range a.buf[blo:bhi] {
			maxLen = max(maxLen, b.end-b.start)
		}
		d := int32(n.n)
		for ai := alo; ai < ahi; ai++ {
			x := a.buf[ai]
			// b after x: b.start in [x.end, x.end+d]; b before x (unless
			// ordered): b.end in [x.start-d, x.start], so b.start ≥
			// x.start-d-maxLen.
			from := x.end
			if !n.ordered {
				from = x.start - d - maxLen
			}
			j := blo + sort.Search(bhi-blo, func(k int) bool { return a.buf[blo+k].start >= from })
			for ; j < bhi && a.buf[j].start <= x.end+d; j++ {
				b := a.buf[j]
				ok := b.start >= x.end || !n.ordered && b.end <= x.start && x.start-b.end <= d
				if ok {
					a.buf = append(a.buf, span{min(x.start, b.start), max(x.end, b.end)})
				}
			}
		}
		// Move the results down over the operands' spans.
		m := copy(a.buf[lo:], a.buf[bhi:])
		a.buf = a.buf[:lo+m]
	}
	return lo, sortSpans(a, lo)
}

// sortSpans sorts and de-duplicates a.buf[lo:] and returns its new end.
func sortSpans(a *arena, lo int) int {
	s := a.buf[lo:]
	slices.SortFunc(s, func(x, y span) int {
		if x.start != y.start {
			return int(x.start - y.start)
		}
		return int(x.end - y.end)
	})
	s = slices.Compact(s)
	a.buf = a.buf[:lo+len(s)]
	return len(a.buf)
}

// tokenKind classifies a token by its form.
func tokenKind(tok string) termKind {
	if tok == "" {
		return kindWord
	}
	switch tok[0] {
	case '#':
		if len(tok) > 1 {
			return kindHashtag
		}
	case '@':
		if len(tok) > 1 {
			return kindMention
		}
	case '[':
		if len(tok) > 2 && tok[len(tok)-1] == ']' {
			return kindEmoticon
		}
	case 'h', 'H':
		if hasPrefixFold(tok, "http://") || hasPrefixFold(tok, "https://") {
			return kindURL
		}
	}
	return kindWord
}

// matchAt returns how many tokens the term matches starting at toks[i], or
// 0 if it does not match there.
func (t *term) matchAt(in *input, i int) int {
	if in.anc[i] != t.first {
		return 0
	}
	toks := in.toks
	k := tokenKind(toks[i])
	if k != t.kind {
		return 0
	}
	switch k {
	case kindURL:
		if hasPrefixFold(toks[i], t.parts[0]) {
			return 1
		}
		return 0
	case kindHashtag, kindMention, kindEmoticon:
		// One token, compared without its marks.
		if rest, ok := consume(t.parts[0], toks[i], false); ok && rest == "" {
			return 1
		}
		return 0
	}
	j := i
	for pi, part := range t.parts {
		last := pi == len(t.parts)-1
		e := matchRun(part, toks, j, last && t.prefix)
		if e == 0 {
			return 0
		}
		j += e
	}
	return j - i
}

// matchRun matches part against toks[i:], returning the number of tokens
// whose concatenation it is (or, with prefix, the one token it begins).
func matchRun(part string, toks []string, i int, prefix bool) int {
	if prefix {
		if tokenKind(toks[i]) != kindWord {
			return 0
		}
		if _, ok := consume(part, toks[i], true); ok {
			return 1
		}
		return 0
	}
	rest := part
	for j := i; j < len(toks); j++ {
		if tokenKind(toks[j]) != kindWord {
			return 0
		}
		var ok bool
		before := len(rest)
		rest, ok = consume(rest, toks[j], false)
		if !ok {
			return 0
		}
		if len(rest) == before {
			// A token of punctuation only: skipped inside a run, no
			// start of one.
			if j == i {
				return 0
			}
			continue
		}
		if rest == "" {
			return j - i + 1
		}
	}
	return 0
}

// consume matches the folded characters of tok against the start of part
// and returns what is left of part. It fails when a character differs, or
// when part ends before tok does (unless partial: then tok may go on, as
// for a wildcard prefix).
func consume(part, tok string, partial bool) (string, bool) {
	for i := 0; i < len(tok); {
		c := tok[i]
		var r rune
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				r = rune(c)
			case 'A' <= c && c <= 'Z':
				r = rune(c + 'a' - 'A')
			default:
				continue
			}
		} else {
			var n int
			r, n = utf8.DecodeRuneInString(tok[i:])
			i += n
			if r = foldRune(r); r < 0 {
				continue
			}
		}
		if part == "" {
			return "", partial
		}
		p, n := utf8.DecodeRuneInString(part)
		if p != r {
			return part, false
		}
		part = part[n:]
	}
	return part, !partial || part == ""
}

// format writes the canonical form of n; top is true for the outermost
// node, which needs no parentheses.
func (n *node) format(b *strings.Builder, top bool) {
	switch n.op {
	case opTerm:
		b.WriteString(n.term.display())
	case opNot:
		b.WriteString("NOT ")
		n.kids[0].format(b, false)
	case opAnd, opOr, opNear:
		if !top {
			b.WriteByte('(')
		}
		for i, k := range n.kids {
			if i > 0 {
				switch n.op {
				case opAnd:
					b.WriteString(" AND ")
				case opOr:
					b.WriteString(" OR ")
				default:
					b.WriteString(" NEAR/")
					b.WriteString(itoa(n.n))
					if n.ordered {
						b.WriteByte('f')
					}
					b.WriteByte(' ')
				}
			}
			k.format(b, false)
		}
		if !top {
			b.WriteByte(')')
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// Anchors returns characters one of which begins a token of every post the
// query matches (the first letter or digit of a word token, in simplified
// script and lower case, or the # @ [ h that begins a hashtag, mention,
// emoticon or URL token; see TokenAnchor). A caller evaluating many
// queries on one post can skip those whose anchors it lacks. It returns
// nil when no such set is known (for example for NOT (NOT a OR NOT b)),
// and then the query must always be evaluated.
func (q *Query) Anchors() []rune {
	a := q.root.anchors()
	slices.Sort(a)
	return slices.Compact(a)
}

func (n *node) anchors() []rune {
	switch n.op {
	case opTerm:
		return []rune{n.term.first}
	case opOr:
		var out []rune
		for _, k := range n.kids {
			a := k.anchors()
			if a == nil {
				return nil
			}
			out = append(out, a...)
		}
		return out
	case opAnd:
		var best []rune
		for _, k := range n.kids {
			if a := k.anchors(); a != nil && (best == nil || len(a) < len(best)) {
				best = a
			}
		}
		return best
	case opNear:
		return n.kids[0].anchors()
	}
	return nil
}

func (t *term) anchorRune() rune {
	if r, ok := kindAnchor(t.kind); ok {
		return r
	}
	r, _ := utf8.DecodeRuneInString(t.parts[0])
	return r
}

// kindAnchor returns the first character of every hashtag, mention,
// emoticon and URL term or token.
func kindAnchor(k termKind) (rune, bool) {
	switch k {
	case kindHashtag:
		return '#', true
	case kindMention:
		return '@', true
	case kindEmoticon:
		return '[', true
	case kindURL:
		return 'h', true
	}
	return 0, false
}

// TokenAnchor returns the character a query term must begin with to match
// at tok (see Query.Anchors), or -1 for a token no term can start at.
func TokenAnchor(tok string) rune {
	if r, ok := kindAnchor(tokenKind(tok)); ok {
		return r
	}
	for _, r := range tok {
		if f := foldRune(r); f >= 0 {
			return f
		}
	}
	return -1
}
