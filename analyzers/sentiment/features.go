package sentiment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Feature extraction: text is scanned once, rune by rune, and every feature
// is hashed straight into a bucket index of the model's weight table. No
// strings are built, so the only memory needed is the output slice, which
// callers reuse.
//
// Features:
//   - character 1-, 2- and 3-grams inside a segment (segments are split at
//     whitespace and punctuation other than ! ? ~ …; digits fold to 0,
//     ASCII letters to lower case, runs of one character longer than 3 are
//     cut to 3: 哈哈哈哈哈 reads as 哈哈哈);
//   - negation scope: after a negator (不 没 无 未 别 非 莫 勿 甭; 没有 counts
//     as one) the next negScope characters of the segment also emit
//     negation-tagged unigrams and bigrams, so 不好吃 yields NEG(好), NEG(吃),
//     NEG(好吃). Words where the negator does not negate (不过, 不错, 非常,
//     无论, 特别, 对不起, ...) open no scope;
//   - degree scope: after an intensifier (很 太 超 挺 真 非常 特别 十分 ...)
//     or a diminisher (有点 有些 稍 略 比较 ...) the next degScope
//     characters emit degree-tagged unigrams and bigrams;
//   - contrast: after 但, 却, 可是, 然而 or 不过 every later character of
//     the text also emits contrast-tagged unigrams and bigrams, since what
//     follows a turn usually carries the writer's verdict;
//   - emoticons [name]: one feature per emoticon name, plus a shared group
//     feature for emoticons of the positive or negative lexicon. Ironic
//     emoticons ([微笑] [呵呵] [允悲] [笑cry] [doge] [围观] ...) only set the
//     irony flag and feed the ironic group feature, whose polarity weight is
//     kept ≤ 0;
//   - emoji: one feature per emoji rune;
//   - sentiment words (network vocabulary such as yyds, 绝绝子, 拉胯, 避雷
//     and evaluative words such as 好用, 及时, 难看, 低级; see slangPositive,
//     slangNegative): a shared group feature per polarity, on top of the
//     word's n-grams; a word right after a negator counts for the other
//     side (不给力, 不靠谱, 不贵).
//
// Clauses (cut at ， 。 ！ ？ ； and their ASCII forms, … ~ and line breaks)
// that ask for information (see infoQuestion) contribute no features: 请问
// 在哪里可以买到？ states no opinion.
//
// Skipped entirely: URLs (http://, https://), @mentions, #hashtags# (topic
// names carry no sentiment of the author), zero-width characters.

const (
	negScope = 3 // characters after a negator that are tagged as negated
	degScope = 2 // characters after a degree adverb that are tagged

	// Reserved bucket indices for lexicon group features. Hashed features
	// never land on them (see bucket).
	idxEmoPositive   = 0
	idxEmoNegative   = 1
	idxEmoIronic     = 2
	idxSlangPositive = 3
	idxSlangNegative = 4
	numReserved      = 8
)

// Salts separate the feature families in the hash space.
const (
	saltUni uint64 = (0x9e3779b97f4a7c15 * (iota + 1)) & (1<<64 - 1)
	saltBi
	saltTri
	saltNegUni
	saltNegBi
	saltIntUni
	saltIntBi
	saltDimUni
	saltDimBi
	saltEmoticon
	saltEmoji
	saltConUni
	saltConBi
)

// featureFlags carries per-text facts that are not weights.
type featureFlags uint8

const (
	// flagIrony is set when the text contains an ironic emoticon
	// ([微笑], [呵呵], [doge], ...).
	flagIrony featureFlags = 1 << iota
	// flagHehe is set when the text contains the word 呵呵, which the
	// 2010s Weibo data mostly uses kindly and today's mostly coldly.
	flagHehe
)

// mix64 is the splitmix64 finaliser: a cheap, well-mixing 64-bit hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// bucket maps a 64-bit feature hash onto [numReserved, 1<<bits).
func bucket(h uint64, bits uint) uint32 {
	i := uint32(h >> (64 - bits))
	if i < numReserved {
		i += numReserved
	}
	return i
}

// emoticonHash hashes an emoticon name (without brackets) with ASCII letters
// folded to lower case (FNV-1a over the bytes).
func emoticonHash(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Rune classes returned by classify.
const (
	clsBreak = iota // ends the current segment
	clsUnit         // a character that takes part in n-grams
	clsSkip         // ignored, does not end the segment
	clsEmoji        // a pictograph: its own feature, ends the segment
)

// classify normalises r and tells how the scanner treats it.
func classify(r rune) (rune, int) {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF:
		return r, clsUnit
	case r < 0x80:
		switch {
		case 'a' <= r && r <= 'z':
			return r, clsUnit
		case 'A' <= r && r <= 'Z':
			return r + ('a' - 'A'), clsUnit
		case '0' <= r && r <= '9':
			return '0', clsUnit
		case r == '!', r == '?', r == '~':
			return r, clsUnit
		}
		return r, clsBreak
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		return classify(r - 0xFEE0)
	case r == '…':
		return r, clsUnit
	case r == 0x200B, r == 0x200C, r == 0x200D, r == 0x200E, r == 0x200F,
		r == 0xFEFF, r == 0x2060, r == 0xFE0F, r == 0xFE0E:
		return r, clsSkip
	case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF:
		return r, clsEmoji
	case unicode.IsLetter(r):
		return r, clsUnit
	}
	return r, clsBreak
}

// scanner holds the state of one pass over a text.
type scanner struct {
	dst   []uint32
	bits  uint
	flags featureFlags

	u1, u2 rune // previous two units of the segment (0: none)

	neg       int  // remaining characters in the negation scope
	negFirst  bool // the next unit directly follows the negator
	negPrevIn bool // the previous unit was inside the negation scope

	deg       int
	degKind   int
	degPrevIn bool

	contrast bool
}

func (s *scanner) emit(h uint64) {
	s.dst = append(s.dst, bucket(mix64(h), s.bits))
}

func (s *scanner) endSegment() {
	s.u1, s.u2 = 0, 0
	s.neg, s.negFirst, s.negPrevIn = 0, false, false
	s.deg, s.degPrevIn = 0, false
}

func pair(a, b rune) uint64      { return uint64(a)<<21 | uint64(b) }
func triple(a, b, c rune) uint64 { return uint64(a)<<42 | uint64(b)<<21 | uint64(c) }

func (s *scanner) unit(c rune) {
	u1, u2 := s.u1, s.u2
	if c == u1 && c == u2 {
		return // cut runs of one character to three
	}
	if u1 == '呵' && c == '呵' {
		s.flags |= flagHehe
	}

	// A negator directly followed by a word-forming character is no
	// negator (非常, 不过, 不错, ...); 没有 extends the negator.
	extendNeg, afterNeg := false, s.negFirst
	if s.negFirst {
		s.negFirst = false
		switch {
		case negException(u1, c):
			s.neg = 0
		case u1 == '没' && c == '有':
			extendNeg = true
		}
	}

	s.emit(saltUni ^ uint64(c))
	if u1 != 0 {
		s.emit(saltBi ^ pair(u1, c))
		if u2 != 0 {
			s.emit(saltTri ^ triple(u2, u1, c))
		}
	}
	if s.contrast {
		s.emit(saltConUni ^ uint64(c))
		if u1 != 0 {
			s.emit(saltConBi ^ pair(u1, c))
		}
	}

	if s.neg > 0 && !extendNeg {
		s.emit(saltNegUni ^ uint64(c))
		if s.negPrevIn {
			s.emit(saltNegBi ^ pair(u1, c))
		}
		s.negPrevIn = true
		s.neg--
	} else {
		s.negPrevIn = false
	}
	if s.deg > 0 {
		uni, bi := saltIntUni, saltIntBi
		if s.degKind == degDiminisher {
			uni, bi = saltDimUni, saltDimBi
		}
		s.emit(uni ^ uint64(c))
		if s.degPrevIn {
			s.emit(bi ^ pair(u1, c))
		}
		s.degPrevIn = true
		s.deg--
	} else {
		s.degPrevIn = false
	}

	if extendNeg || isNegator(u1, c) {
		s.neg, s.negFirst, s.negPrevIn = negScope, !extendNeg, false
	}
	k := degreePair(u1, c)
	if k == degNone && !afterNeg {
		// A degree adverb right after a negator (不太, 不很) is
		// negated rather than intensifying.
		k = degreeSingle(c)
	}
	if k != degNone {
		s.deg, s.degKind, s.degPrevIn = degScope, k, false
	}
	if isContrast(u1, c) {
		s.contrast = true
	}
	s.u2, s.u1 = u1, c
}

func (s *scanner) emoticon(name string) {
	h := emoticonHash(name)
	switch emoticonGroups[h] {
	case emoIronic:
		s.flags |= flagIrony
		s.dst = append(s.dst, idxEmoIronic)
		return
	case emoPositive:
		s.dst = append(s.dst, idxEmoPositive)
	case emoNegative:
		s.dst = append(s.dst, idxEmoNegative)
	}
	s.emit(saltEmoticon ^ h)
}

// appendFeatures appends the bucket indices (for a table of 1<<bits
// buckets) of all features of text to dst. An index appears once per
// occurrence of its feature.
func appendFeatures(dst []uint32, text string, bits uint) ([]uint32, featureFlags) {
	s := scanner{dst: dst, bits: bits}
	// The clause being scanned: where it starts in text and in s.dst,
	// whether it holds a rune of a question, whether its closing
	// punctuation has been seen.
	clauseByte, clauseFeat := 0, len(s.dst)
	question, closing := false, false
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if closing && !clauseEnd(r) && r != ' ' {
			s.endClause(text[clauseByte:i], clauseFeat, question)
			clauseByte, clauseFeat = i, len(s.dst)
			question, closing = false, false
		}
		if clauseEnd(r) {
			closing = true
		}
		if questionRune(r) {
			question = true
		}
		switch r {
		case '[':
			if j := emoticonEnd(text, i); j > 0 {
				s.endSegment()
				s.emoticon(text[i+1 : j])
				i = j + 1
				continue
			}
		case '#', '＃':
			if j := hashtagEnd(text, i+size); j > 0 {
				s.endSegment()
				i = j
				continue
			}
		case '@':
			s.endSegment()
			i = mentionEnd(text, i+size)
			continue
		case 'h', 'H':
			if hasPrefixFold(text[i:], "http://") || hasPrefixFold(text[i:], "https://") {
				s.endSegment()
				i = urlEnd(text, i)
				continue
			}
		case '.':
			// "..." (what NFKC makes of …) reads as the ellipsis.
			if i+1 < len(text) && text[i+1] == '.' {
				for i < len(text) && text[i] == '.' {
					i++
				}
				s.unit('…')
				continue
			}
		}
		if n, positive := slangAt(text, i, r); n > 0 {
			if s.u1 == '不' || s.u1 == '没' || s.u1 == '别' || s.u1 == '无' {
				positive = !positive
			}
			if positive {
				s.dst = append(s.dst, idxSlangPositive)
			} else {
				s.dst = append(s.dst, idxSlangNegative)
			}
		}
		i += size
		c, cls := classify(r)
		switch cls {
		case clsUnit:
			s.unit(c)
		case clsBreak:
			s.endSegment()
		case clsEmoji:
			s.endSegment()
			s.emit(saltEmoji ^ uint64(c))
		}
	}
	s.endClause(text[clauseByte:], clauseFeat, question)
	return s.dst, s.flags
}

// clauseEnd reports whether r closes a clause.
func clauseEnd(r rune) bool {
	switch r {
	case '，', '。', '！', '？', '；', ',', '.', '!', '?', ';', '\n', '…', '~', '～':
		return true
	}
	return false
}

// endClause drops the features of a clause that asks for information.
func (s *scanner) endClause(clause string, from int, question bool) {
	if question && infoQuestion(clause) {
		s.dst = s.dst[:from]
	}
}

// emoticonEnd returns the index of the ']' closing the emoticon that starts
// at text[i] == '[', or -1 if there is none within a short name.
func emoticonEnd(text string, i int) int {
	n := 0
	for j := i + 1; j < len(text) && n <= 8; {
		r, size := utf8.DecodeRuneInString(text[j:])
		switch {
		case r == ']':
			if j == i+1 {
				return -1
			}
			return j
		case r == '[', unicode.IsSpace(r):
			return -1
		}
		j += size
		n++
	}
	return -1
}

// hashtagEnd returns the index just after the '#' closing a hashtag whose
// text starts at i, or -1 if none closes it on the same line within a
// reasonable length.
func hashtagEnd(text string, i int) int {
	n := 0
	for j := i; j < len(text) && n <= 64; {
		r, size := utf8.DecodeRuneInString(text[j:])
		switch r {
		case '#', '＃':
			if j == i {
				return -1
			}
			return j + size
		case '\n', '\r':
			return -1
		}
		j += size
		n++
	}
	return -1
}

// mentionEnd returns the index just after the user name that starts at i
// (after an '@'). Names are letters, digits, '_' and '-', at most 30 runes.
func mentionEnd(text string, i int) int {
	n := 0
	for i < len(text) && n < 30 {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !(r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			break
		}
		i += size
		n++
	}
	return i
}

// urlEnd returns the index just after the URL that starts at i: URLs run
// until whitespace or a non-ASCII character.
func urlEnd(text string, i int) int {
	for i < len(text) {
		c := text[i]
		if c >= 0x80 || c <= ' ' {
			break
		}
		i++
	}
	return i
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
