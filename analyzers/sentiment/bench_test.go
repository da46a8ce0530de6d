package sentiment

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// benchPost is a 100-character Weibo-style post.
const benchPost = "今天终于收到了在网上买的新手机，物流速度很快，包装也很好[哈哈]。但是用了一天发现电池不太耐用，客服态度倒是不错，答应给我换一台，希望新的不要再有问题了！@小米客服 #手机# 总体来说还是挺满意的吧！"

func TestBenchPostLength(t *testing.T) {
	if n := utf8.RuneCountInString(benchPost); n != 100 {
		t.Errorf("benchPost has %d characters, want 100", n)
	}
}

func BenchmarkScore(b *testing.B) {
	m := mustDefault(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPost)))
	for b.Loop() {
		m.Score(benchPost)
	}
}

// BenchmarkScoreVaried scores different texts in turn, so that fewer of the
// weights touched stay in cache.
func BenchmarkScoreVaried(b *testing.B) {
	m := mustDefault(b)
	texts := make([]string, 0, len(clearCases)+len(neutralCases))
	for _, tc := range clearCases {
		texts = append(texts, tc.text)
	}
	texts = append(texts, neutralCases...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Score(texts[i%len(texts)])
		i++
	}
}

func BenchmarkScoreParallel(b *testing.B) {
	m := mustDefault(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPost)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Score(benchPost)
		}
	})
}

func BenchmarkDefaultLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(bytes.NewReader(embeddedModel)); err != nil {
			b.Fatal(err)
		}
	}
}
