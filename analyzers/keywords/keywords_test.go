package keywords

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/iwom/iwom/configs/dict"
)

// pos is a small part-of-speech table standing in for the segmenter's
// dictionary.
var pos = map[string]string{
	"冰箱": "n", "质量": "n", "售后": "n", "关不严": "v", "投诉": "v", "失望": "a",
	"觉得": "v", "非常": "d", "我们": "r", "王芳": "nr", "雷军": "nr", "一直": "d", "客服": "n",
	"西门子": "nz", "彻底": "ad", "很快": "d",
}

func posOf(w string) string { return pos[w] }

func TestDefaultTable(t *testing.T) {
	e, err := NewDefault(posOf)
	if err != nil {
		t.Fatal(err)
	}
	// Common words weigh less than rare ones.
	if e.IDF("酒店") >= e.IDF("冰箱门") || e.IDF("不错") >= e.IDF("维权") {
		t.Errorf("IDF 酒店 %.2f 冰箱门 %.2f 不错 %.2f 维权 %.2f", e.IDF("酒店"), e.IDF("冰箱门"), e.IDF("不错"), e.IDF("维权"))
	}
	for _, w := range []string{"我们", "觉得", "转发微博", "大家"} {
		if !e.IsStop(w) {
			t.Errorf("%s is not a stop word", w)
		}
	}
	if len(dict.StopWords()) < 250 {
		t.Errorf("only %d stop words", len(dict.StopWords()))
	}
}

func TestExtract(t *testing.T) {
	idf := "# docs 1000\n冰箱 3.0\n质量 2.0\n售后 2.5\n投诉 4.0\n失望 3.5\n客服 2.2\n"
	e, err := New(strings.NewReader(idf), []string{"我们", "觉得"}, posOf)
	if err != nil {
		t.Fatal(err)
	}
	toks := strings.Fields("#西门子冰箱门# 我们 觉得 西门子 冰箱 关不严 质量 太 差 一直 投诉 售后 投诉 非常 失望 [怒] @客服 http://t.cn/x 2024 王芳 雷军 彻底")
	got := e.Extract(toks, 5, func(w string) bool { return w == "西门子" })
	// 投诉 twice (8), 关不严 unseen (7.91), 失望 3.5, 冰箱 3.0, 售后 2.5;
	// 雷军 is a two-character dictionary name (nr): left out.
	want := []string{"投诉", "关不严", "失望", "冰箱", "售后"}
	if !slices.Equal(got, want) {
		t.Errorf("Extract = %q, want %q", got, want)
	}
	if got := e.Extract(toks, 0, nil); got != nil {
		t.Errorf("k=0: %q", got)
	}
	if got := e.Extract(nil, 3, nil); got != nil {
		t.Errorf("no tokens: %q", got)
	}
	for _, w := range []string{"我们", "非常", "王芳", "彻底", "#西门子冰箱门#", "@客服", "[怒]", "2024", "http://t.cn/x", "太"} {
		if e.Candidate(w) {
			t.Errorf("%s is a candidate", w)
		}
	}
}

func TestBuildIDF(t *testing.T) {
	b := NewIDFBuilder()
	b.Add([]string{"冰箱", "冰箱", "质量"})
	b.Add([]string{"冰箱", "售后"})
	b.Add([]string{"冰箱", "#话题#", "x"})
	var buf bytes.Buffer
	if err := b.WriteIDF(&buf, 2, IDFWorthy); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "# docs 3\n冰箱 1.000\n") || strings.Contains(buf.String(), "质量") {
		t.Errorf("table:\n%s", buf.String())
	}
	e, err := New(&buf, nil, posOf)
	if err != nil {
		t.Fatal(err)
	}
	if e.IDF("冰箱") != 1 || e.IDF("质量") <= 1 {
		t.Errorf("IDF 冰箱 %v 质量 %v", e.IDF("冰箱"), e.IDF("质量"))
	}
	if _, err := New(strings.NewReader("冰箱 1.0\n"), nil, posOf); err == nil {
		t.Error("a table without a header was accepted")
	}
	if _, err := New(strings.NewReader("# docs 3\n冰箱 x\n"), nil, posOf); err == nil {
		t.Error("a bad IDF value was accepted")
	}
}

func TestExtractDoesNotAllocateBeyondResult(t *testing.T) {
	e, err := NewDefault(posOf)
	if err != nil {
		t.Fatal(err)
	}
	toks := strings.Fields("西门子 冰箱 关不严 质量 太 差 投诉 售后 失望")
	if n := testing.AllocsPerRun(100, func() { e.Extract(toks, 5, nil) }); n > 1 {
		t.Errorf("Extract allocates %v times", n)
	}
}

func BenchmarkExtract(b *testing.B) {
	e, err := NewDefault(posOf)
	if err != nil {
		b.Fatal(err)
	}
	toks := strings.Fields("#西门子冰箱门# 我们 觉得 西门子 冰箱 关不严 质量 太 差 一直 投诉 售后 投诉 非常 失望 [怒] @客服 http://t.cn/x 2024 王芳 雷军 彻底")
	b.ReportAllocs()
	for b.Loop() {
		e.Extract(toks, 5, nil)
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := NewDefault(posOf); err != nil {
			b.Fatal(err)
		}
	}
}
