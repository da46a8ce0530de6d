package segment

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/extract"
	"github.com/iwom/iwom/configs/dict"
)

var (
	once   sync.Once
	shared *Segmenter
	sErr   error
)

func testSegmenter(t testing.TB) *Segmenter {
	t.Helper()
	once.Do(func() {
		w, err := brands.Load("")
		if err != nil {
			sErr = err
			return
		}
		shared, sErr = New(w.DictEntries(), dict.Slang)
	})
	if sErr != nil {
		t.Fatal(sErr)
	}
	return shared
}

func TestBrandNamesStayWhole(t *testing.T) {
	s := testSegmenter(t)
	cases := map[string]string{
		"招商银行的微信值机服务太方便了":  "招商银行",
		"南方航空的空姐服务很好":      "南方航空",
		"可口可樂比百事好喝多了":      "可口可樂",
		"西門子冰箱门又坏了":        "西門子",
		"今天在天猫买了耐克的鞋":      "天猫",
		"支付宝付款很快":          "支付宝",
		"英特尔的芯片真给力":        "英特尔",
		"用了三年的戴尔电脑还是很稳定":   "戴尔",
		"杜蕾斯的文案又刷屏了":       "杜蕾斯",
		"富士施乐的打印机卡纸了":      "富士施乐",
		"淘宝双十一的优惠力度不够大":    "淘宝",
		"新浪微博又改版了真难用":      "新浪微博",
		"南航航班延误了三个小时":      "南航",
		"这款冰箱是西门子的":        "西门子",
		"我觉得招行的服务比其他银行好多了": "招行",
		"有人用过招行的信用卡吗":      "招行",
	}
	for text, brand := range cases {
		toks := s.Tokens(text, nil)
		if !slices.Contains(toks, brand) {
			t.Errorf("Tokens(%q) = %q: %s split", text, toks, brand)
		}
	}
}

func TestSlangAndSpans(t *testing.T) {
	s := testSegmenter(t)
	text := "#西门子冰箱门# 这波操作真坑爹[怒] @西门子家电 http://t.cn/AbC 点赞"
	toks := s.Tokens(text, extract.Spans(text))
	for _, want := range []string{"#西门子冰箱门#", "坑爹", "[怒]", "@西门子家电", "http://t.cn/AbC", "点赞"} {
		if !slices.Contains(toks, want) {
			t.Errorf("tokens %q lack %q", toks, want)
		}
	}
	for _, tok := range toks {
		if tok == " " || tok == "" {
			t.Errorf("blank token in %q", toks)
		}
	}
}

// Network vocabulary stays whole, in context.
func TestNetworkVocabulary(t *testing.T) {
	s := testSegmenter(t)
	for text, word := range map[string]string{
		"这家店必须点赞":    "点赞",
		"今天又来吐槽一下":   "吐槽",
		"被博主种草了这款口红": "种草",
		"终于拔草了":      "拔草",
		"这次的活动真给力":   "给力",
		"太坑爹了吧":      "坑爹",
		"年轻人都想躺平":    "躺平",
		"行业内卷太严重":    "内卷",
		"看到这里直接破防":   "破防",
		"这个口红绝绝子":    "绝绝子",
		"周杰伦yyds":    "yyds",
		"给哥哥打call":   "打call",
		"新车发布会现场翻车":  "翻车",
		"偶像又塌房了":     "塌房",
		"大家避雷这家店":    "避雷",
		"这就是智商税":     "智商税",
		"又被割韭菜了":     "割韭菜",
		"打工人的午饭":     "打工人",
		"这服务太拉胯了":    "拉胯",
		"客服说三天到账":    "到账",
		"用花呗付款":      "花呗",
		"双十一的快递还没到":  "双十一",
		"这个问题上了热搜":   "热搜",
		"转发微博":       "转发微博",
	} {
		if toks := s.Tokens(text, nil); !slices.Contains(toks, word) {
			t.Errorf("Tokens(%q) = %q: %s split", text, toks, word)
		}
	}
}

// Latin words are lower-cased, punctuation dropped, digits kept.
func TestLatinAndPunctuation(t *testing.T) {
	s := testSegmenter(t)
	toks := s.Tokens("I love my DELL laptop, 用了3年!!!", nil)
	for _, want := range []string{"i", "love", "dell", "laptop", "3"} {
		if !slices.Contains(toks, want) {
			t.Errorf("tokens %q lack %q", toks, want)
		}
	}
	for _, tok := range toks {
		if tok == "," || tok == "!" || tok == " " {
			t.Errorf("punctuation token in %q", toks)
		}
	}
}

func TestConcurrent(t *testing.T) {
	s := testSegmenter(t)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				s.Tokens("招商银行的微信值机服务太方便了", nil)
			}
		}()
	}
	wg.Wait()
}

func BenchmarkTokens(b *testing.B) {
	s := testSegmenter(b)
	text := "#西门子冰箱门# 买了西门子的冰箱才三个月，冰箱门就关不严了，客服一直推脱，太让人失望了[怒] @西门子家电 //@小王:同款"
	spans := extract.Spans(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		s.Tokens(text, spans)
	}
}

// BenchmarkGseCut is gse alone (HMM on) on the same text, for comparison.
func BenchmarkGseCut(b *testing.B) {
	s := testSegmenter(b)
	text := "#西门子冰箱门# 买了西门子的冰箱才三个月，冰箱门就关不严了，客服一直推脱，太让人失望了[怒] @西门子家电 //@小王:同款"
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		s.seg.Cut(text, true)
	}
}

func TestEvaluateGold(t *testing.T) {
	s := testSegmenter(t)
	f, err := os.Open("testdata/weibo_gold.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gold, err := ReadGold(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Evaluate(gold)
	t.Logf("%+v", sc)
	if sc.Sentences != 60 || sc.GoldWords < 400 {
		t.Fatalf("read %d sentences, %d words", sc.Sentences, sc.GoldWords)
	}
	// Measured: F1 0.868 (P 0.911, R 0.829), see docs/QUALITY.md; the gold
	// file splits finer than gse's dictionary (很 快, 两 个 vs 很快, 两个).
	// A drop below these means the dictionaries or the segmenter got
	// worse on Weibo text.
	if sc.F1 < 0.85 || sc.Precision < 0.88 || sc.Recall < 0.80 {
		t.Errorf("F1 %.3f (P %.3f R %.3f) on the Weibo gold sentences", sc.F1, sc.Precision, sc.Recall)
	}
	// A perfect segmentation scores 1.
	bySentence := map[string][]string{}
	for _, ws := range gold {
		bySentence[strings.Join(ws, "")] = ws
	}
	perfect := s.score(gold, func(text string) []string { return bySentence[text] })
	if perfect.F1 != 1 {
		t.Errorf("gold against itself: %+v", perfect)
	}
}

func TestAdverbHead(t *testing.T) {
	s := testSegmenter(t)
	toks := s.Tokens("可口可乐太甜了，显示器色彩很准，太太说很多人不错", nil)
	for _, want := range []string{"太", "甜", "很", "准", "太太", "很多", "不错"} {
		if !slices.Contains(toks, want) {
			t.Errorf("tokens %q lack %q", toks, want)
		}
	}
}
