package query

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func toks(s string) []string { return strings.Fields(s) }

func TestMatch(t *testing.T) {
	xiaomi := `小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬)`
	for _, tc := range []struct {
		q      string
		tokens string
		want   bool
	}{
		// The grain and the phone.
		{xiaomi, "小米 发布会 今天 开 了", true},
		{xiaomi, "雷军 说 小米 的 新 手机 很 好", true},
		{xiaomi, "早上 喝 了 一碗 小米粥", false},
		{xiaomi, "小米 手机 和 小米粥", false},
		{xiaomi, "用 小米 熬 粥", false},
		{xiaomi, "小米 真 好吃", false},
		// Tokens, not substrings.
		{`苹果`, "苹果手机 真 好用", false},
		{`苹果手机`, "苹果手机 真 好用", true},
		{`苹果 NOT (好吃 OR 水果 OR 甜)`, "这个 苹果 很 甜", false},
		{`苹果 NOT (好吃 OR 水果 OR 甜)`, "苹果 发布 了 新 手机", true},
		// A term matches adjacent tokens the segmenter split.
		{`苹果手机`, "买 了 苹果 手机", true},
		{`招商银行`, "招商 银行 的 服务", true},
		{`招商银行`, "招商 银 行", true},
		{`招商银行`, "招商 银行卡", false},
		{`打call`, "必须 打 call", true},
		// Script- and case-insensitive, on both sides.
		{`蘋果`, "苹果 发布会", true},
		{`苹果`, "蘋果 發佈會", true},
		{`iPhone`, "新 iphone 到 了", true},
		{`iphone`, "新 IPhone 到 了", true},
		{`ＩＰＨＯＮＥ`, "新 iphone", true},
		{`Coca-Cola`, "coca cola 新 口味", true},
		{`Coca-Cola`, "coca-cola", true},
		{`Coca-Cola`, "cocacola", true},
		{`cocacola`, "coca - cola", true},
		// Phrases: consecutive tokens, each word possibly split.
		{`"China Merchants Bank"`, "china merchants bank 发布", true},
		{`"China Merchants Bank"`, "china bank merchants", false},
		{`"China Merchants Bank"`, "china merchantsbank", false},
		{`"小米 手机"`, "小米 手机", true},
		{`"小米 手机"`, "小米 新 手机", false},
		{`“小米 手机”`, "小米 手机", true},
		// Implicit AND, OR, NOT, precedence.
		{`小米 手机`, "手机 是 小米 的", true},
		{`小米 手机`, "小米 粥", false},
		{`a OR b AND c`, "a", true},
		{`a OR b AND c`, "b", false},
		{`a OR b AND c`, "b c", true},
		{`NOT a b`, "b", true},
		{`NOT a b`, "a b", false},
		{`a AND NOT b`, "a c", true},
		{`(a OR b) NOT c NOT d`, "b d", false},
		{`（a OR b） NOT c`, "b", true},
		// NEAR/n: at most n tokens between, either order; NEAR/nf ordered.
		{`招商 NEAR/2 信用卡`, "招商 的 新 信用卡", true},
		{`招商 NEAR/1 信用卡`, "招商 的 新 信用卡", false},
		{`招商 NEAR/2 信用卡`, "信用卡 是 招商 的", true},
		{`招商 NEAR/2f 信用卡`, "信用卡 是 招商 的", false},
		{`招商 NEAR/2f 信用卡`, "招商 的 信用卡", true},
		{`a NEAR/0 b`, "a b", true},
		{`a NEAR/0 b`, "a x b", false},
		{`a NEAR/0 a`, "a", false},
		{`a NEAR/0 a`, "a a", true},
		{`(a OR b) NEAR/1 (c OR "d e")`, "x b y d e", true},
		{`(a OR b) NEAR/1 (c OR "d e")`, "x b y z d e", false},
		{`(a NEAR/1 b) NEAR/0 c`, "a x b c", true},
		{`(a NEAR/1 b) NEAR/0 c`, "c b x a", true},
		{`(a NEAR/1 b) NEAR/0 c`, "a x b y c", false},
		{`小米 NEAR/3 (手机 OR 发布会) NOT 粥`, "小米 今天 开 发布会", true},
		// Special tokens.
		{`#小米手机#`, "#小米手机# 真 好", true},
		{`#小米手机`, "#小米手机# 真 好", true},
		{`小米手机`, "#小米手机# 真 好", false},
		{`#小米手机#`, "小米手机 真 好", false},
		{`@雷军`, "@雷军 你好", true},
		{`雷军`, "@雷军 你好", false},
		{`[怒]`, "太 差 了 [怒]", true},
		{`怒`, "太 差 了 [怒]", false},
		{`http://t.cn`, "看 http://t.cn/A6xyz", true},
		// Wildcards.
		{`iphone*`, "iphone15 到 了", true},
		{`iphone*`, "iphone 到 了", true},
		{`iphone*`, "iph 到 了", false},
		{`苹果*`, "苹果手机 到 了", true},
		// Empty input.
		{`a`, "", false},
	} {
		q, err := Parse(tc.q)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.q, err)
			continue
		}
		if got := q.Match(toks(tc.tokens)); got != tc.want {
			t.Errorf("%s on [%s]: got %v, want %v (parsed as %s)", tc.q, tc.tokens, got, tc.want, q)
		}
	}
}

func TestString(t *testing.T) {
	for q, want := range map[string]string{
		`小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬)`: `小米 AND (手机 OR 雷军 OR 发布会) AND NOT (小米粥 OR 熬)`,
		`a b c`:                        `a AND b AND c`,
		`a OR b AND c`:                 `a OR (b AND c)`,
		`(a OR b) OR c`:                `a OR b OR c`,
		`NOT NOT a`:                    `a`,
		`"China Merchants Bank" OR 招行`: `"China Merchants Bank" OR 招行`,
		`a NEAR/3f (b OR c)`:           `a NEAR/3f (b OR c)`,
		`(a NEAR/1 b) NEAR/2 c`:        `(a NEAR/1 b) NEAR/2 c`,
		`"AND" a`:                      `"AND" AND a`,
		`iphone* && x || y`:            `(iphone* AND x) OR y`,
		`（小米 OR 红米） “小米 手机”`: `(小米 OR 红米) AND "小米 手机"`,
	} {
		p, err := Parse(q)
		if err != nil {
			t.Errorf("Parse(%q): %v", q, err)
			continue
		}
		if got := p.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", q, got, want)
		}
		// The canonical form parses back to itself.
		again, err := Parse(p.String())
		if err != nil {
			t.Errorf("Parse(%q): %v", p.String(), err)
		} else if again.String() != p.String() {
			t.Errorf("round trip of %q gave %q", p.String(), again.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		q   string
		col int
		msg string
	}{
		{``, 1, "empty query"},
		{`   `, 4, "empty query"},
		{`小米 AND`, 4, "AND needs a term"},
		{`小米 OR`, 4, "OR needs a term"},
		{`AND 小米`, 1, "AND where a term was expected"},
		{`小米 AND OR 手机`, 8, "unexpected OR after AND"},
		{`(小米 OR 手机`, 1, "'(' is never closed"},
		{`小米 OR 手机)`, 9, "')' without a matching '('"},
		{`小米 ()`, 4, "empty parentheses"},
		{`小米 "手机`, 4, "unterminated quoted phrase"},
		{`小米 "  "`, 4, "empty quoted phrase"},
		{`小米 NEAR 手机`, 4, "NEAR needs a distance"},
		{`小米 NEAR/x 手机`, 4, "NEAR needs a distance"},
		{`小米 NEAR/-1 手机`, 4, "NEAR needs a distance"},
		{`小米 NEAR/3`, 4, "NEAR needs a term"},
		{`(a AND b) NEAR/3 c`, 1, "NEAR operands"},
		{`a NEAR/3 (b AND c)`, 10, "NEAR operands"},
		{`a NEAR/3 NOT b`, 10, "unexpected NOT after NEAR"},
		{`NOT 小米`, 1, "needs a term that is not negated"},
		{`a OR NOT b`, 1, "needs a term that is not negated"},
		{`小米 ---`, 4, "no letters or digits"},
		{`小米 #`, 4, "no letters or digits"},
		{`a*`, 1, "wildcard"},
		{`a NOT`, 3, "NOT needs a term"},
	} {
		_, err := Parse(tc.q)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): error %v, want a *ParseError", tc.q, err)
			continue
		}
		if pe.Col != tc.col || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("Parse(%q): column %d %q, want column %d containing %q", tc.q, pe.Col, pe.Msg, tc.col, tc.msg)
		}
		if !strings.Contains(pe.Error(), "column") {
			t.Errorf("Error() = %q", pe.Error())
		}
	}
}

func TestTerms(t *testing.T) {
	q := MustParse(`小米 AND ("小米 手机" OR 雷军) NOT 粥`)
	if got := strings.Join(q.Terms(), "|"); got != `小米|"小米 手机"|雷军|粥` {
		t.Errorf("Terms = %s", got)
	}
	if q.Source() != `小米 AND ("小米 手机" OR 雷军) NOT 粥` {
		t.Errorf("Source = %s", q.Source())
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	q := MustParse(`小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬)`)
	tk := toks("雷军 说 小米 的 新 手机 很 好 #小米手机# [赞]")
	if n := testing.AllocsPerRun(100, func() { q.Match(tk) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬)`, `"a b" NEAR/2f c*`, `(((a)))`, `a OR`, `"`,
		`#x# @y [z] http://t.cn`, `NEAR/1`, `（a）“b”`, "\xff",
	} {
		f.Add(s, "小米 手机 a b c #x# @y [z]")
	}
	f.Fuzz(func(t *testing.T, s, tokens string) {
		q, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Col < 1 {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			return
		}
		tk := strings.Fields(tokens)
		got := q.Match(tk)
		if a := q.Anchors(); got && a != nil {
			found := false
			for _, t := range tk {
				if slices.Contains(a, TokenAnchor(t)) {
					found = true
				}
			}
			if !found {
				t.Fatalf("%q matches %q without any of its anchors %q", s, tokens, string(a))
			}
		}
		again, err := Parse(q.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", q.String(), s, err)
		}
		if again.String() != q.String() {
			t.Fatalf("canonical form %q reparses as %q", q.String(), again.String())
		}
		if again.Match(tk) != got {
			t.Fatalf("canonical form %q matches %v differently from %q", q.String(), tk, s)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	q := MustParse(`小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬)`)
	tk := toks("今天 雷军 在 北京 说 小米 的 新款 手机 很 好 性价比 高 大家 快 去 买 #小米手机# [赞] 转发 微博 @小米 公司")
	for b.Loop() {
		q.Match(tk)
	}
}

func BenchmarkMatchNear(b *testing.B) {
	q := MustParse(`(招商 OR 招行) NEAR/3 (信用卡 OR "掌上 生活")`)
	tk := toks("今天 去 招行 办 了 一张 信用卡 服务 很 好 掌上 生活 也 好用 大家 快 去 办")
	for b.Loop() {
		q.Match(tk)
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		_, _ = Parse(`小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬)`)
	}
}

// A query never matches a post without one of its anchors at the start of
// a token.
func TestAnchors(t *testing.T) {
	for q, want := range map[string]string{
		`小米 AND (手机 OR 雷军) NOT 粥`:              "小",
		`手机 AND (小米 OR 红米)`:                    "手", // the smaller set
		`(a OR #b#) NEAR/2 c`:                  "#a",
		`蘋果 OR Apple OR @x OR [y] OR http://z`: "@[ah苹",
		`NOT (NOT a OR NOT b)`:                 "",
	} {
		got := string(MustParse(q).Anchors())
		if got != want {
			t.Errorf("Anchors(%s) = %q, want %q", q, got, want)
		}
	}
	for tok, want := range map[string]rune{"蘋果": '苹', "Apple": 'a', "#x#": '#', "@y": '@', "[z]": '[', "http://t.cn": 'h', "-x": 'x', "--": -1} {
		if got := TokenAnchor(tok); got != want {
			t.Errorf("TokenAnchor(%s) = %q, want %q", tok, got, want)
		}
	}
}
