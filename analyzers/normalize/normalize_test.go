package normalize

import "testing"

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
