package sentiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
)

func mustDefault(t testing.TB) *Model {
	t.Helper()
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDefaultLoads(t *testing.T) {
	m := mustDefault(t)
	if m2, _ := Default(); m2 != m {
		t.Error("Default returned a second model")
	}
	md := m.Metadata()
	if md.Bits != DefaultTrainOptions().Bits || md.Slope <= 0 || md.Threshold <= 0 {
		t.Errorf("implausible metadata: %+v", md)
	}
	for _, c := range Corpora {
		if len(md.Data[c.File]) != 64 {
			t.Errorf("no SHA-256 recorded for %s", c.File)
		}
		if r := md.HeldOut[c.File]; r == nil || r.N == 0 {
			t.Errorf("no held-out scores recorded for %s", c.File)
		}
	}
}

// Clear cases: the direction must be right.
var clearCases = []struct {
	text  string
	label string
}{
	// From the brief.
	{"招商银行的微信值机服务太方便了[赞]", LabelPositive},
	{"这家外卖太难吃了，再也不点了[怒]", LabelNegative},
	{"不好吃", LabelNegative},
	{"服务很好", LabelPositive},
	{"不错", LabelPositive},
	// Weibo-style posts.
	{"今天天气不错，心情很好[哈哈]", LabelPositive},
	{"排了两个小时的队，服务员态度极差[抓狂]", LabelNegative},
	{"[泪][泪][泪]", LabelNegative},
	{"[哈哈]", LabelPositive},
	{"感谢医护人员，辛苦了！", LabelPositive},
	{"武汉加油！", LabelPositive},
	{"太可怕了，疫情又严重了", LabelNegative},
	{"快递三天都没到，客服也不理人", LabelNegative},
	{"物流很快，包装完好，五星好评", LabelPositive},
	{"垃圾产品，千万别买", LabelNegative},
	{"很好吃", LabelPositive},
	{"一点都不好", LabelNegative},
	{"没有想象中那么好", LabelNegative},
	{"@小米客服 手机用了一周就坏了，售后还推来推去，太失望了[怒]", LabelNegative},
	{"终于放假啦，和闺蜜去吃了超好吃的火锅[爱你][爱你]", LabelPositive},
	{"这次客服处理得很快，必须点赞👍", LabelPositive},
	{"地铁又晚点了，每天都这样，烦死了", LabelNegative},
	{"谢谢大家的生日祝福，爱你们[心]", LabelPositive},
	{"电影太好看了，强烈推荐！#周末看什么#", LabelPositive},
	{"房间又脏又小，隔音很差，再也不会来了", LabelNegative},
	{"宝宝今天会叫妈妈了，好开心[太开心]", LabelPositive},
	{"心疼，看哭了[悲伤]", LabelNegative},
	{"这个价格买到这么好的质量，太值了", LabelPositive},
	{"又被骗了，气死我了[怒骂]http://t.cn/A6xyz", LabelNegative},
	{"质量一般，不值这个价", LabelNegative},
	{"非常满意，下次还来", LabelPositive},
	// Network vocabulary.
	{"这个口红绝绝子，爱了", LabelPositive},
	{"周杰伦yyds", LabelPositive},
	{"服务太拉胯了，大家避雷", LabelNegative},
	{"又被割韭菜了，纯纯智商税", LabelNegative},
	{"一点都不给力", LabelNegative},
}

// Questions asking for information are neutral; complaining ones are not.
func TestQuestionsScore(t *testing.T) {
	m := mustDefault(t)
	for _, text := range []string{"请问芯片在哪里可以买到？", "有人用过这款显示器吗", "新品什么时候上架", "多少钱？"} {
		if r := m.Score(text); r.Label != LabelNeutral || r.Score != 0 {
			t.Errorf("%s: got %+v, want exactly neutral 0", text, r)
		}
	}
	for _, text := range []string{"快递怎么还没到？都一个星期了", "凭什么不给退款？", "为什么又坏了？"} {
		if r := m.Score(text); r.Label != LabelNegative {
			t.Errorf("%s: got %+v, want negative", text, r)
		}
	}
}

func TestClearCases(t *testing.T) {
	m := mustDefault(t)
	for _, tc := range clearCases {
		r := m.Score(tc.text)
		if r.Label != tc.label {
			t.Errorf("%s: got %+v, want %s", tc.text, r, tc.label)
		}
	}
}

// Texts without sentiment must be neutral with a score near 0.
var neutralCases = []string{
	"转发微博",
	"西门子今天发布了新款冰箱",
	"分享图片",
	"明天下午三点在三楼开会",
	"我今天去了北京",
	"华为在深圳举行开发者大会",
	"北京地铁十号线明日起调整运营时间",
	"教育部公布今年高考报名人数",
	"这本书一共有十二章",
	"学校下周开始放暑假",
}

func TestNeutral(t *testing.T) {
	m := mustDefault(t)
	for _, text := range []string{"", " ", "#西门子#", "http://t.cn/A6abcd", "@张三", "@张三 http://t.cn/A6abcd #话题#"} {
		if r := m.Score(text); r != (Result{Label: LabelNeutral}) {
			t.Errorf("%q: got %+v, want exactly neutral 0", text, r)
		}
	}
	for _, text := range neutralCases {
		r := m.Score(text)
		if r.Label != LabelNeutral || math.Abs(r.Score) > 0.2 || r.Emotion != "" {
			t.Errorf("%s: got %+v, want neutral near 0 without emotion", text, r)
		}
	}
}

// Ironic markers must not make a text read as positive.
func TestIrony(t *testing.T) {
	m := mustDefault(t)
	for _, text := range []string{
		"呵呵，真是好服务[微笑]",
		"真是谢谢你啊[微笑]",
		"好棒棒哦[doge]",
		"[微笑]",
		"[允悲]",
		"[笑cry]",
		"[围观]",
	} {
		if r := m.Score(text); r.Label == LabelPositive || r.Score > 0.25 {
			t.Errorf("%s: got %+v, want not positive", text, r)
		}
	}
	// Praise with an ironic emoticon is sarcasm.
	for _, text := range []string{"呵呵，真是好服务[微笑]", "真是谢谢你啊，让我等了三个小时[微笑]", "好棒棒哦，又坏了[doge]"} {
		if r := m.Score(text); r.Label != LabelNegative {
			t.Errorf("%s: got %+v, want negative", text, r)
		}
	}
	// Without the marker the same words read positive.
	if r := m.Score("真是好服务"); r.Label != LabelPositive {
		t.Errorf("真是好服务: got %+v, want positive", r)
	}
}

func TestEmotions(t *testing.T) {
	m := mustDefault(t)
	for _, tc := range []struct{ text, emotion string }{
		{"[泪][泪][泪]", "sadness"},
		{"感谢医护人员，辛苦了！", "gratitude"},
		{"太可怕了，疫情又严重了", "fear"},
		{"今天天气不错，心情很好[哈哈]", "optimism"},
		{"垃圾产品，千万别买", "anger"},
	} {
		if r := m.Score(tc.text); r.Emotion != tc.emotion {
			t.Errorf("%s: got %+v, want emotion %s", tc.text, r, tc.emotion)
		}
	}
	// The emotion agrees with the label.
	for _, tc := range clearCases {
		r := m.Score(tc.text)
		if r.Emotion == "" {
			continue
		}
		e := slices.Index(Emotions[:], r.Emotion)
		if p := Emotion7.Polarity(e); (p > 0 && r.Label != LabelPositive) || (p < 0 && r.Label != LabelNegative) {
			t.Errorf("%s: emotion %s disagrees with label %s", tc.text, r.Emotion, r.Label)
		}
	}
}

func TestScoreDoesNotAllocate(t *testing.T) {
	m := mustDefault(t)
	m.Score(benchPost) // warm the buffer pool
	if n := testing.AllocsPerRun(100, func() { m.Score(benchPost) }); n != 0 {
		t.Errorf("Score allocates %.1f times per call", n)
	}
}

func TestConcurrentScore(t *testing.T) {
	m := mustDefault(t)
	want := make([]Result, len(clearCases))
	for i, tc := range clearCases {
		want[i] = m.Score(tc.text)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for i, tc := range clearCases {
					if got := m.Score(tc.text); got != want[i] {
						t.Errorf("%s: concurrent score %+v, want %+v", tc.text, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestWriteToLoad(t *testing.T) {
	m := mustDefault(t)
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	m2, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.w, m2.w) || !slices.Equal(m.cue, m2.cue) {
		t.Error("weights differ after a round trip")
	}
	a, _ := json.Marshal(m.Metadata())
	b, _ := json.Marshal(m2.Metadata())
	if !bytes.Equal(a, b) {
		t.Error("metadata differs after a round trip")
	}
	for _, tc := range clearCases {
		if r1, r2 := m.Score(tc.text), m2.Score(tc.text); r1 != r2 {
			t.Errorf("%s: %+v after a round trip, was %+v", tc.text, r2, r1)
		}
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	m := mustDefault(t)
	var good, bad bytes.Buffer
	if _, err := m.WriteTo(&good); err != nil {
		t.Fatal(err)
	}
	broken := *m
	broken.meta.EvidenceScale = 0
	if _, err := broken.WriteTo(&bad); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":          nil,
		"not gzip":       []byte("IWOMSENT not compressed"),
		"truncated":      good.Bytes()[:good.Len()/2],
		"evidence scale": bad.Bytes(),
	} {
		if _, err := Load(bytes.NewReader(data)); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: got %v, want ErrBadModel", name, err)
		}
	}
}

func TestEvaluate(t *testing.T) {
	m := mustDefault(t)
	rows := []Example{
		{"服务很好", 1}, {"不好吃", 0}, {"非常满意，下次还来", 1}, {"垃圾产品，千万别买", 0}, {"x", 7},
	}
	r := Evaluate(m, rows, Binary)
	if r.N != 4 || r.Accuracy != 1 || r.MacroF1 != 1 || r.Confusion["positive"]["positive"] != 2 {
		t.Errorf("binary report: %+v", r)
	}
	// Copies of a text count once in the distinct figures.
	r = Evaluate(m, []Example{{"服务很好", 1}, {"服务很好", 1}, {"服务很好", 1}, {"服务很好", 0}, {"不好吃", 1}}, Binary)
	if r.N != 5 || r.Accuracy != 0.6 || r.DistinctN != 2 || r.DistinctAccuracy != 0.5 || r.DistinctPolarityAccuracy != 0.5 {
		t.Errorf("binary report with copies: %+v", r)
	}
	// Polarity3: neutral is a class of its own.
	r = Evaluate(m, []Example{{"服务很好", 1}, {"不好吃", -1}, {"我今天去了北京", 0}, {"垃圾产品，千万别买", 1}}, Polarity3)
	if r.N != 4 || r.Accuracy != 0.75 || r.PolarityN != 3 || r.PerClass[LabelNeutral].Recall != 1 || r.Confusion["positive"]["negative"] != 1 {
		t.Errorf("polarity3 report: %+v", r)
	}
	rows = []Example{
		{"[泪][泪][泪]", 5}, {"感谢医护人员，辛苦了！", 4}, {"太可怕了，疫情又严重了", 0}, {"居然下雪了", 3},
	}
	r = Evaluate(m, rows, Emotion7)
	if r.N != 4 || r.PolarityN != 3 || r.PolarityAccuracy != 1 || r.Confusion["sadness"]["sadness"] != 1 {
		t.Errorf("emotion7 report: %+v", r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"n", "accuracy", "macro_f1", "per_class", "confusion", "emotion_accuracy", "emotion_macro_f1", "polarity_accuracy"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON report lacks %q: %s", k, b)
		}
	}
}

func FuzzScore(f *testing.F) {
	for _, tc := range clearCases {
		f.Add(tc.text)
	}
	f.Add("[微笑")
	f.Add("#没有结束")
	f.Add("@")
	f.Add("http")
	f.Add("\xff\xfe不好")
	m, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := m.Score(text)
		if math.IsNaN(r.Score) || r.Score < -1 || r.Score > 1 {
			t.Fatalf("score %v outside [-1, 1]", r.Score)
		}
		if (r.Label == LabelPositive) != (r.Score >= m.meta.Threshold) || (r.Label == LabelNegative) != (r.Score <= -m.meta.Threshold) {
			t.Fatalf("label %q for score %v", r.Label, r.Score)
		}
		if r.Emotion != "" && !slices.Contains(Emotions[:], r.Emotion) {
			t.Fatalf("emotion %q", r.Emotion)
		}
	})
}
