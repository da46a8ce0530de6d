package segment

import (
	"slices"
	"sync"
	"testing"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/extract"
	"github.com/iwom/iwom/configs"
)

var (
	once   sync.Once
	shared *Segmenter
	sErr   error
)

func testSegmenter(t testing.TB) *Segmenter {
	t.Helper()
	once.Do(func() {
		w, err := brands.Parse(configs.BrandsYAML)
		if err != nil {
			sErr = err
			return
		}
		shared, sErr = New(w.DictEntries(), string(configs.SlangDict))
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
	for i := 0; i < b.N; i++ {
		s.Tokens(text, spans)
	}
}
