package normalize

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  招商银行\u200b的服务\t\n太好了  ", "招商银行的服务 太好了"},
		{"ＡＢＣ１２３！", "ABC123!"},
		{`今天<span class="url-icon"><img alt=[哈哈] src="x.png"></span>好开心<br />@<a href='/n/小明'>小明</a>`, "今天[哈哈]好开心 @小明"},
		{"a &amp; b &lt;3", "a & b <3"},
		{"1 < 2 and 3 > 2", "1 < 2 and 3 > 2"},
		{"bad\xffutf8", "badutf8"},
		{"<script>alert(1)</script>正文", "正文"},
	}
	for _, c := range cases {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"<a href='x'>y</a>", "&#x4e2d;", "<img alt=\"[赞]\">", "\xff<", "ＡＢ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if isClean(s) && clean(s) != s {
			t.Errorf("fast path kept %q, which normalises to %q", s, clean(s))
		}
		if Text(out) != out && !looksLikeHTML(out) {
			t.Errorf("not idempotent: %q -> %q -> %q", s, out, Text(out))
		}
	})
}

func BenchmarkText(b *testing.B) {
	s := "招商银行的微信值机服务太方便了[赞] #招行# @小明 http://t.cn/abc ＡＢＣ"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Text(s)
	}
}

func TestCleanFastPath(t *testing.T) {
	for _, s := range []string{"招商银行的服务太好了[赞] #招行# @小明 http://t.cn/abc", "", "a b", "天氣很好"} {
		if !isClean(s) || Text(s) != s {
			t.Errorf("%q should pass through unchanged", s)
		}
		if n := testing.AllocsPerRun(50, func() { Text(s) }); n != 0 {
			t.Errorf("Text(%q) allocates %v times", s, n)
		}
	}
	for _, s := range []string{" a", "a ", "a  b", "a\tb", "a&amp;b", "ＡＢ", "a\u200bb", "<b>x</b>", "bad\xff", "a\u3000b"} {
		if isClean(s) {
			t.Errorf("%q should not pass the fast path", s)
		}
	}
}

func TestSimplified(t *testing.T) {
	for in, want := range map[string]string{
		"蘋果手機很好用":    "苹果手机很好用",
		"招商銀行的服務[贊]": "招商银行的服务[赞]",
		"已经是简体":      "已经是简体",
	} {
		if got := Simplified(in); got != want {
			t.Errorf("Simplified(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Fold("<p>蘋果　手機</p>"); got != "苹果 手机" {
		t.Errorf("Fold = %q", got)
	}
}

func BenchmarkFold(b *testing.B) {
	s := "招商銀行的微信值機服務太方便了[贊] #招行# @小明 http://t.cn/abc"
	b.ReportAllocs()
	for b.Loop() {
		Fold(s)
	}
}

// A tag cut off by a truncation (a WeChat article body ending in
// `<img class="rich_pages …`) is dropped, not kept as text; a lone '<'
// that starts no tag stays.
func TestStripHTMLCutOffTag(t *testing.T) {
	for in, want := range map[string]string{
		`<p>冰箱门关不上</p><img class="rich_pages wxw-img" data-src="https://mmbiz.qpic.cn/x`: "冰箱门关不上",
		`<p>正文</p></sect`: "正文",
		`<p>我</p>爱你 <3`:   "我 爱你 <3",
		`<p>a</p><`:       "a <",
	} {
		if got := strings.Join(strings.Fields(StripHTML(in)), " "); got != want {
			t.Errorf("StripHTML(%q) = %q, want %q", in, got, want)
		}
	}
}
