// Package query parses and evaluates boolean keyword queries in the style
// of Brandwatch and Talkwalker, over the tokens of an enriched post:
//
//	小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬)
//	"China Merchants Bank" OR 招行 OR (招商 NEAR/2 信用卡)
//
// # Syntax
//
//   - term: a word, e.g. 小米, iphone, #小米手机# (a hashtag), @雷军 (a
//     mention), [怒] (an emoticon), http://t.cn (a URL prefix), or a word
//     ending in * (iphone*: any token beginning with iphone);
//   - "quoted phrase": its words (separated by spaces) as consecutive tokens;
//   - a AND b, a OR b, NOT a, and a NOT b (= a AND NOT b); terms side by
//     side without an operator are ANDed;
//   - a NEAR/n b: a and b with at most n tokens between them, in either
//     order; NEAR/nf: a before b. Their operands are terms, phrases, NEAR
//     expressions or parenthesised OR groups of those;
//   - ( ) group; full-width （ ） and “ ” are accepted too.
//
// Operators are upper case (and, or are terms); NEAR binds tighter than
// NOT, NOT than AND, AND than OR: a OR b AND c is a OR (b AND c).
//
// # Matching
//
// Queries match tokens, not substrings: 小米 matches the token 小米 but not
// 小米粥. A term also matches adjacent tokens whose concatenation it is,
// when the segmenter split a word the query names (小米 手机 matches the
// term 小米手机). Matching is script- and case-insensitive: terms are
// converted to simplified script and lower case, and so is each token
// character; letters and digits are compared, other characters (spaces,
// hyphens, dots) are ignored, so Coca-Cola matches coca cola and cocacola.
// Hashtag, mention, emoticon and URL tokens are matched only by terms of
// the same kind.
package query

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/iwom/iwom/analyzers/t2s"
)

// ParseError is a syntax error in a query.
type ParseError struct {
	Col int    // 1-based column of the offending token, in runes
	Msg string // what is wrong
}

func (e *ParseError) Error() string { return fmt.Sprintf("query: column %d: %s", e.Col, e.Msg) }

// Query is a parsed query. It is immutable and safe for concurrent use.
type Query struct {
	root *node
	src  string
}

// Parse parses a query (see the package documentation for the syntax).
// Errors are *ParseError.
func Parse(s string) (*Query, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, &ParseError{Col: p.peek().col, Msg: "empty query"}
	}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, &ParseError{Col: t.col, Msg: "')' without a matching '('"}
		}
		return nil, &ParseError{Col: t.col, Msg: fmt.Sprintf("unexpected %s", t)}
	}
	if root.eval(&input{}) {
		return nil, &ParseError{Col: 1, Msg: "query matches posts that contain none of its terms (it needs a term that is not negated)"}
	}
	return &Query{root: root, src: s}, nil
}

// MustParse is Parse for queries known to be valid; it panics on error.
func MustParse(s string) *Query {
	q, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return q
}

// String returns the query in canonical form: operators in upper case,
// every AND, OR and NEAR inside another operator in parentheses. It
// parses back to an equivalent query.
func (q *Query) String() string {
	var b strings.Builder
	q.root.format(&b, true)
	return b.String()
}

// Source returns the text the query was parsed from.
func (q *Query) Source() string { return q.src }

// Terms returns the query's terms and phrases as written (phrases in
// quotes), in order, for display.
func (q *Query) Terms() []string {
	var out []string
	var walk func(n *node)
	walk = func(n *node) {
		if n.op == opTerm {
			out = append(out, n.term.display())
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(q.root)
	return out
}

// Lexer.

type tokKind uint8

const (
	tEOF tokKind = iota
	tTerm
	tPhrase
	tAnd
	tOr
	tNot
	tNear
	tLParen
	tRParen
)

type token struct {
	kind    tokKind
	col     int
	text    string // term or phrase text
	n       int    // NEAR distance
	ordered bool   // NEAR/nf
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tTerm:
		return fmt.Sprintf("term %q", t.text)
	case tPhrase:
		return fmt.Sprintf("phrase %q", t.text)
	case tAnd:
		return "AND"
	case tOr:
		return "OR"
	case tNot:
		return "NOT"
	case tNear:
		return "NEAR"
	case tLParen:
		return "'('"
	}
	return "')'"
}

func isOpen(r rune) bool  { return r == '(' || r == '（' }
func isClose(r rune) bool { return r == ')' || r == '）' }
func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

func lex(s string) ([]token, error) {
	if !utf8.ValidString(s) {
		return nil, &ParseError{Col: 1, Msg: "query is not valid UTF-8"}
	}
	var toks []token
	col := 0
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		col = i + 1
		switch {
		case unicode.IsSpace(r) || r == '\u3000':
			i++
		case isOpen(r):
			toks = append(toks, token{kind: tLParen, col: col})
			i++
		case isClose(r):
			toks = append(toks, token{kind: tRParen, col: col})
			i++
		case isQuote(r):
			j := i + 1
			for j < len(rs) && !isQuote(rs[j]) {
				j++
			}
			if j == len(rs) {
				return nil, &ParseError{Col: col, Msg: "unterminated quoted phrase"}
			}
			text := string(rs[i+1 : j])
			if len(phraseParts(text)) == 0 {
				return nil, &ParseError{Col: col, Msg: "empty quoted phrase"}
			}
			toks = append(toks, token{kind: tPhrase, col: col, text: text})
			i = j + 1
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '\u3000' && !isOpen(rs[j]) && !isClose(rs[j]) && !isQuote(rs[j]) {
				j++
			}
			word := string(rs[i:j])
			t, err := word2tok(word, col)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = j
		}
	}
	return append(toks, token{kind: tEOF, col: len(rs) + 1}), nil
}

func word2tok(w string, col int) (token, error) {
	switch w {
	case "AND", "&&":
		return token{kind: tAnd, col: col}, nil
	case "OR", "||":
		return token{kind: tOr, col: col}, nil
	case "NOT":
		return token{kind: tNot, col: col}, nil
	}
	if rest, ok := strings.CutPrefix(w, "NEAR/"); ok {
		t := token{kind: tNear, col: col}
		if r, ok := strings.CutSuffix(rest, "f"); ok {
			rest, t.ordered = r, true
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || n > 1000 || rest == "" || rest[0] == '+' || rest[0] == '-' {
			return token{}, &ParseError{Col: col, Msg: fmt.Sprintf("%q: NEAR needs a distance in tokens, e.g. NEAR/3 or NEAR/3f", w)}
		}
		t.n = n
		return t, nil
	}
	if w == "NEAR" {
		return token{}, &ParseError{Col: col, Msg: "NEAR needs a distance in tokens, e.g. NEAR/3 or NEAR/3f"}
	}
	if _, err := newTerm(w, false); err != nil {
		return token{}, &ParseError{Col: col, Msg: err.Error()}
	}
	return token{kind: tTerm, col: col, text: w}, nil
}

// Parser: recursive descent.
//
//	or    := and { OR and }
//	and   := unary { [AND] unary | NOT near }
//	unary := NOT unary | near
//	near  := primary { NEAR/n primary }
//	primary := TERM | PHRASE | ( or )

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) or() (*node, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for p.peek().kind == tOr {
		op := p.next()
		if err := p.operand(op); err != nil {
			return nil, err
		}
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return flat(opOr, first.col, kids), nil
}

// operand checks that something that can start an operand follows op.
func (p *parser) operand(op token) error {
	switch t := p.peek(); t.kind {
	case tTerm, tPhrase, tLParen, tNot:
		return nil
	case tEOF:
		return &ParseError{Col: op.col, Msg: fmt.Sprintf("%s needs a term after it", op)}
	default:
		return &ParseError{Col: t.col, Msg: fmt.Sprintf("unexpected %s after %s", t, op)}
	}
}

func startsOperand(k tokKind) bool { return k == tTerm || k == tPhrase || k == tLParen }

func (p *parser) and() (*node, error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for {
		t := p.peek()
		switch {
		case t.kind == tAnd:
			p.next()
			if err := p.operand(t); err != nil {
				return nil, err
			}
			n, err := p.unary()
			if err != nil {
				return nil, err
			}
			kids = append(kids, n)
		case t.kind == tNot:
			// a NOT b is a AND NOT b.
			n, err := p.unary()
			if err != nil {
				return nil, err
			}
			kids = append(kids, n)
		case startsOperand(t.kind):
			n, err := p.unary()
			if err != nil {
				return nil, err
			}
			kids = append(kids, n)
		default:
			return flat(opAnd, first.col, kids), nil
		}
	}
}

func (p *parser) unary() (*node, error) {
	if t := p.peek(); t.kind == tNot {
		p.next()
		if err := p.operand(t); err != nil {
			return nil, err
		}
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		if k.op == opNot { // NOT NOT a is a
			return k.kids[0], nil
		}
		return &node{op: opNot, col: t.col, kids: []*node{k}}, nil
	}
	return p.near()
}

func (p *parser) near() (*node, error) {
	left, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tNear {
		op := p.next()
		if !left.positional() {
			return nil, &ParseError{Col: left.col, Msg: "NEAR operands must be terms, phrases, NEAR expressions or OR groups of those"}
		}
		if t := p.peek(); !startsOperand(t.kind) {
			if t.kind == tEOF {
				return nil, &ParseError{Col: op.col, Msg: "NEAR needs a term after it"}
			}
			return nil, &ParseError{Col: t.col, Msg: fmt.Sprintf("unexpected %s after NEAR", t)}
		}
		right, err := p.primary()
		if err != nil {
			return nil, err
		}
		if !right.positional() {
			return nil, &ParseError{Col: right.col, Msg: "NEAR operands must be terms, phrases, NEAR expressions or OR groups of those"}
		}
		left = &node{op: opNear, col: left.col, n: op.n, ordered: op.ordered, kids: []*node{left, right}}
	}
	return left, nil
}

func (p *parser) primary() (*node, error) {
	t := p.next()
	switch t.kind {
	case tTerm:
		tm, _ := newTerm(t.text, false) // checked by the lexer
		return &node{op: opTerm, col: t.col, term: tm}, nil
	case tPhrase:
		tm, err := newTerm(t.text, true)
		if err != nil {
			return nil, &ParseError{Col: t.col, Msg: err.Error()}
		}
		return &node{op: opTerm, col: t.col, term: tm}, nil
	case tLParen:
		if p.peek().kind == tRParen {
			return nil, &ParseError{Col: t.col, Msg: "empty parentheses"}
		}
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			if c.kind == tEOF {
				return nil, &ParseError{Col: t.col, Msg: "'(' is never closed"}
			}
			return nil, &ParseError{Col: c.col, Msg: fmt.Sprintf("unexpected %s, expected ')'", c)}
		}
		p.next()
		n.col = t.col
		n.paren = true
		return n, nil
	case tEOF:
		return nil, &ParseError{Col: t.col, Msg: "query ends where a term was expected"}
	case tRParen:
		return nil, &ParseError{Col: t.col, Msg: "')' without a matching '('"}
	default:
		return nil, &ParseError{Col: t.col, Msg: fmt.Sprintf("%s where a term was expected", t)}
	}
}

// flat builds an n-ary AND or OR, merging children of the same operator.
func flat(op opKind, col int, kids []*node) *node {
	if len(kids) == 1 {
		return kids[0]
	}
	n := &node{op: op, col: col}
	for _, k := range kids {
		if k.op == op {
			n.kids = append(n.kids, k.kids...)
		} else {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// Terms.

type termKind uint8

const (
	kindWord termKind = iota
	kindHashtag
	kindMention
	kindEmoticon
	kindURL
)

// term is a term or phrase: its parts, each folded (simplified script,
// lower case, letters and digits only), must match consecutive runs of
// tokens.
type term struct {
	raw    string
	phrase bool
	kind   termKind
	parts  []string
	prefix bool // word*: the last part matches a token prefix
	first  rune // the anchor: what a token must begin with (see TokenAnchor)
}

func phraseParts(s string) []string {
	var parts []string
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\u3000' }) {
		if p := fold(f); p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func newTerm(s string, phrase bool) (term, error) {
	t := term{raw: s, phrase: phrase}
	if phrase {
		t.parts = phraseParts(s)
		if len(t.parts) == 0 {
			return t, fmt.Errorf("phrase %q has no letters or digits", s)
		}
		t.first = t.anchorRune()
		return t, nil
	}
	w := s
	switch {
	case strings.HasPrefix(w, "#") || strings.HasPrefix(w, "＃"):
		t.kind = kindHashtag
	case strings.HasPrefix(w, "@") || strings.HasPrefix(w, "＠"):
		t.kind = kindMention
	case strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]") && len(w) > 2:
		t.kind = kindEmoticon
	case hasPrefixFold(w, "http://") || hasPrefixFold(w, "https://"):
		t.kind = kindURL
		t.parts = []string{strings.ToLower(w)}
		t.first = t.anchorRune()
		return t, nil
	}
	if t.kind == kindWord && strings.HasSuffix(w, "*") {
		t.prefix = true
		w = strings.TrimSuffix(w, "*")
	}
	p := fold(w)
	if p == "" {
		return t, fmt.Errorf("term %q has no letters or digits", s)
	}
	if t.prefix && utf8.RuneCountInString(p) < 2 {
		return t, fmt.Errorf("term %q: a wildcard needs at least two characters before the *", s)
	}
	t.parts = []string{p}
	t.first = t.anchorRune()
	return t, nil
}

// fold returns s in the form terms and tokens are compared in: NFKC
// (full-width to half-width), simplified script, lower case, letters and
// digits only.
func fold(s string) string {
	s = t2s.String(norm.NFKC.String(s))
	var b strings.Builder
	for _, r := range s {
		if r = foldRune(r); r >= 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// foldRune folds one token character: -1 for characters that are ignored.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}
	if r >= 0x4E00 && r <= 0x9FFF { // CJK ideographs: letters without case
		return t2s.Rune(r)
	}
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return -1
	}
	if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
		return foldRune(r - 0xFEE0)
	}
	return unicode.ToLower(t2s.Rune(r))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func (t *term) display() string {
	if t.phrase || needsQuotes(t.raw) {
		return `"` + t.raw + `"`
	}
	return t.raw
}

func needsQuotes(s string) bool {
	switch s {
	case "AND", "OR", "NOT", "&&", "||":
		return true
	}
	return strings.HasPrefix(s, "NEAR")
}
