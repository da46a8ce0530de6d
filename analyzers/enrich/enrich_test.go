package enrich

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/sentiment"
	"github.com/iwom/iwom/pipeline/post"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func defaultEnricher(t testing.TB) *Enricher {
	t.Helper()
	e, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// weiboCase is a hand-checked Weibo-style post: tokens it must contain,
// the brands it names and its sentiment label.
type weiboCase struct {
	text   string
	tokens []string // a subset of the expected tokens
	brands []string
	label  string
}

var weiboSuite = []weiboCase{
	// Brand names stay whole, in any script and case.
	{"招商银行的微信值机服务太方便了[赞]", []string{"招商银行", "值机", "[赞]"}, []string{"cmb"}, post.Positive},
	{"招商銀行的服務真的很好，非常滿意", []string{"招商银行", "服务", "满意"}, []string{"cmb"}, post.Positive},
	{"西門子的冰箱門又壞了，太失望了[怒]", []string{"西门子", "冰箱门", "[怒]"}, []string{"siemens"}, post.Negative},
	{"I love my Coca-Cola [哈哈]", []string{"coca", "cola", "[哈哈]"}, []string{"cocacola"}, post.Positive},
	{"富士施乐的打印机又卡纸了，烦死了", []string{"富士施乐", "打印机", "卡纸"}, []string{"xerox"}, post.Negative},
	{"南航航班延误了三个小时，也没人解释[抓狂]", []string{"南航", "航班", "延误", "[抓狂]"}, []string{"csair"}, post.Negative},
	// Names that also mean something else (brand queries).
	{"南航考研的分数线出来了", []string{"南航", "考研"}, []string{}, post.Neutral},
	{"CMB微波背景辐射的新观测结果", []string{"cmb", "微波"}, []string{}, post.Neutral},
	// Network vocabulary.
	{"英特尔的新处理器yyds", []string{"英特尔", "处理器", "yyds"}, []string{"intel"}, post.Positive},
	{"必须给耐克打call，跑鞋好评[good]", []string{"耐克", "打call", "跑鞋", "好评"}, []string{"nike"}, post.Positive},
	{"天猫的客服太拉胯了，大家避雷", []string{"天猫", "拉胯", "避雷"}, []string{"tmall"}, post.Negative},
	{"又被淘宝卖家割韭菜了，纯纯智商税", []string{"淘宝", "割韭菜", "智商税"}, []string{"taobao"}, post.Negative},
	{"支付宝这次真给力，到账超快", []string{"支付宝", "给力", "到账"}, []string{"alipay"}, post.Positive},
	// Emoticons weigh; ironic ones are not read as smiles.
	{"[泪][泪][泪]", []string{"[泪]"}, []string{}, post.Negative},
	{"戴尔的售后[赞][赞][赞]", []string{"戴尔", "售后", "[赞]"}, []string{"dell"}, post.Positive},
	{"呵呵，西门子真是好服务[微笑]", []string{"西门子", "[微笑]"}, []string{"siemens"}, post.Negative},
	{"好棒棒哦，戴尔的电脑又坏了[doge]", []string{"戴尔", "[doge]"}, []string{"dell"}, post.Negative},
	{"真是谢谢招行啊，让我等了三个小时[微笑]", []string{"招行", "[微笑]"}, []string{"cmb"}, post.Negative},
	// Negation and degree.
	{"耐克的鞋一点都不舒服", []string{"耐克"}, []string{"nike"}, post.Negative},
	{"淘宝买的东西不好吃", []string{"淘宝"}, []string{"taobao"}, post.Negative},
	{"天猫的物流一点也不快，等了一周", []string{"天猫", "物流"}, []string{"tmall"}, post.Negative},
	// Repost chains: the reposter's own words decide.
	{"转发微博//@小王:西门子的冰箱太好用了[赞]", []string{"转发微博", "@小王", "西门子"}, []string{"siemens"}, post.Neutral},
	{"太差了[怒]//@小王:西门子的冰箱太好用了[赞]", []string{"[怒]", "@小王"}, []string{"siemens"}, post.Negative},
	{"说得太对了，支持[鼓掌]//@小李:南航的服务越来越差", []string{"[鼓掌]", "南航"}, []string{"csair"}, post.Positive},
	// Hashtags, mentions, URLs stay single tokens; brands inside them count.
	{"#西门子冰箱门# 我家的冰箱也是这样，门关不上，投诉无门[抓狂]", []string{"#西门子冰箱门#", "[抓狂]"}, []string{"siemens"}, post.Negative},
	{"@招商银行信用卡 我的卡被盗刷了，快处理！http://t.cn/A6xyz", []string{"@招商银行信用卡", "盗刷", "http://t.cn/A6xyz"}, []string{"cmb"}, post.Negative},
	{"＃天貓雙十一＃ 今晚八點開搶", []string{"#天猫双十一#"}, []string{"tmall"}, post.Neutral},
	// Information questions and announcements are neutral.
	{"请问英特尔的芯片在哪里可以买到？", []string{"英特尔", "芯片"}, []string{"intel"}, post.Neutral},
	{"有人用过戴尔的显示器吗", []string{"戴尔", "显示器"}, []string{"dell"}, post.Neutral},
	{"西门子宣布冰箱下个月上市", []string{"西门子", "冰箱", "上市"}, []string{"siemens"}, post.Neutral},
	{"耐克今年推出新款跑鞋", []string{"耐克", "跑鞋"}, []string{"nike"}, post.Neutral},
	{"支付宝的转账限额是多少钱", []string{"支付宝", "转账"}, []string{"alipay"}, post.Neutral},
	// HTML from m.weibo.cn: emoticon images keep their alt text.
	{`杜蕾斯的文案又赢了<span class="url-icon"><img alt="[赞]" src="x.png"></span><br>太有才了，点赞`, []string{"杜蕾斯", "文案", "[赞]"}, []string{"durex"}, post.Positive},
	{"I love my DELL laptop, 用了三年还是很好用", []string{"dell", "laptop"}, []string{"dell"}, post.Positive},
}

func TestWeiboSuite(t *testing.T) {
	e := defaultEnricher(t)
	for _, c := range weiboSuite {
		en := e.Analyze(c.text, now)
		for _, tok := range c.tokens {
			if !slices.Contains(en.Tokens, tok) {
				t.Errorf("%s: tokens %q lack %q", c.text, en.Tokens, tok)
			}
		}
		if !slices.Equal(en.Brands, c.brands) {
			t.Errorf("%s: brands %q, want %q", c.text, en.Brands, c.brands)
		}
		if en.Sentiment.Label != c.label {
			t.Errorf("%s: %s (%.2f), want %s", c.text, en.Sentiment.Label, en.Sentiment.Score, c.label)
		}
	}
}

func TestNormTextAndDisplay(t *testing.T) {
	e := defaultEnricher(t)
	raw := "<p>蘋果手機　真的很好用！</p>"
	en := e.Analyze(raw, now)
	if en.Text != raw {
		t.Errorf("Text = %q, want the original", en.Text)
	}
	if en.NormText != "苹果手机 真的很好用!" {
		t.Errorf("NormText = %q", en.NormText)
	}
	for _, tok := range en.Tokens {
		if strings.ContainsAny(tok, "蘋機<>") {
			t.Errorf("token %q not simplified or not stripped", tok)
		}
	}
	if en.Keywords == nil || en.Hashtags == nil || en.Mentions == nil || en.Emoticons == nil || en.Brands == nil {
		t.Errorf("nil lists in %+v", en)
	}
}

func TestKeywords(t *testing.T) {
	e := defaultEnricher(t)
	en := e.Analyze("#西门子冰箱门# 西门子的冰箱门又关不严了，售后推来推去，我们觉得太气人了，西门子必须召回[怒]", now)
	for _, k := range en.Keywords {
		if e.Brands.IsName(k) || e.Keywords.IsStop(k) || strings.HasPrefix(k, "#") || strings.HasPrefix(k, "[") {
			t.Errorf("keyword %q: a brand name, stop word or special token", k)
		}
	}
	if !slices.Contains(en.Keywords, "冰箱门") {
		t.Errorf("keywords %q lack 冰箱门", en.Keywords)
	}
	if len(en.Keywords) > e.TopK {
		t.Errorf("%d keywords", len(en.Keywords))
	}
}

func comparisonList(t *testing.T) *Enricher {
	t.Helper()
	wl, err := brands.Parse([]byte(`brands:
  - {id: cocacola, name: 可口可乐, aliases: [可口可乐, 可口可樂, Coke]}
  - {id: pepsi, name: 百事, aliases: [百事, 百事可乐, 百事可樂, Pepsi]}
  - {id: cmb, name: 招商银行, aliases: [招商银行, 招行]}
  - {id: icbc, name: 工商银行, aliases: [工商银行, 工行]}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(wl)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func brandLabels(en *post.Enriched) map[string]string {
	out := map[string]string{}
	for _, b := range en.BrandSentiment {
		out[b.Brand] = b.Label
	}
	return out
}

func TestBrandSentiment(t *testing.T) {
	e := comparisonList(t)
	for _, c := range []struct {
		text string
		want map[string]string
	}{
		// The brief's example.
		{"可口可乐比百事好喝多了，百事太甜了", map[string]string{"cocacola": post.Positive, "pepsi": post.Negative}},
		{"百事不如可口可乐", map[string]string{"cocacola": post.Positive, "pepsi": post.Negative}},
		{"可口可樂和百事可樂都好喝", map[string]string{"cocacola": post.Positive, "pepsi": post.Positive}},
		// A clause without a name concerns the brand named before it.
		{"工行排队两个小时，服务太差了。招行的客服很耐心，点赞", map[string]string{"icbc": post.Negative, "cmb": post.Positive}},
		// An empty repost judges nothing.
		{"转发微博//@小王:招行比工行好多了", map[string]string{"cmb": post.Neutral, "icbc": post.Neutral}},
	} {
		en := e.Analyze(c.text, now)
		got := brandLabels(en)
		for id, want := range c.want {
			if got[id] != want {
				t.Errorf("%s: %s is %s, want %s (%+v)", c.text, id, got[id], want, en.BrandSentiment)
			}
		}
		if len(en.BrandSentiment) != len(en.Brands) {
			t.Errorf("%s: %d brand scores for brands %v", c.text, len(en.BrandSentiment), en.Brands)
		}
	}
	// One brand: the post's sentiment is the brand's, nothing extra.
	if en := e.Analyze("招行的服务很好", now); en.BrandSentiment != nil {
		t.Errorf("single brand: %+v", en.BrandSentiment)
	}
}

func TestSplitClauses(t *testing.T) {
	got := splitClauses("可口可乐好喝，百事太甜了!! 真的~再见")
	want := []string{"可口可乐好喝", "百事太甜了", "真的", "再见"}
	if !slices.Equal(got, want) {
		t.Errorf("splitClauses = %q, want %q", got, want)
	}
}

// The hand-labelled Weibo-style sets with a neutral class
// (../sentiment/testdata, written for this purpose, see docs/QUALITY.md):
// weibo_polarity3.csv (180 posts) was used while developing the neutral
// handling and the lexicons, _fresh (60) was written midway and seen once
// before the evaluative lexicon was added, _final (45) was written last and
// never tuned on. The floors sit a little under the measured figures
// (0.889, 0.800, 0.711 three-way accuracy) to catch regressions.
func TestPolarity3Sets(t *testing.T) {
	e := defaultEnricher(t)
	for _, c := range []struct {
		file               string
		n                  int
		accuracy           float64
		neutralP, neutralR float64
	}{
		{"weibo_polarity3.csv", 180, 0.86, 0.80, 0.85},
		{"weibo_polarity3_fresh.csv", 60, 0.76, 0.60, 0.80},
		{"weibo_polarity3_final.csv", 45, 0.66, 0.50, 0.66},
	} {
		rows, err := sentiment.ReadCSV("../sentiment/testdata/"+c.file, "text", "label")
		if err != nil {
			t.Fatal(err)
		}
		rep := sentiment.EvaluateWith(e.PredictText, rows, sentiment.Polarity3)
		neu := rep.PerClass[post.Neutral]
		t.Logf("%s: n=%d accuracy %.3f macro-F1 %.3f; neutral precision %.3f recall %.3f", c.file, rep.N, rep.Accuracy, rep.MacroF1, neu.Precision, neu.Recall)
		if rep.N != c.n || rep.Accuracy < c.accuracy || neu.Precision < c.neutralP || neu.Recall < c.neutralR {
			t.Errorf("%s: three-way accuracy %.3f, neutral precision %.3f recall %.3f on %d posts; want at least %.2f, %.2f, %.2f on %d",
				c.file, rep.Accuracy, neu.Precision, neu.Recall, rep.N, c.accuracy, c.neutralP, c.neutralR, c.n)
		}
	}
}

func TestPredictMatchesEnrich(t *testing.T) {
	e := defaultEnricher(t)
	for _, c := range weiboSuite {
		en := e.Analyze(c.text, now)
		p := e.Predict(c.text)
		if p.Label != en.Sentiment.Label || p.Score != en.Sentiment.Score {
			t.Errorf("%s: Predict %+v, Enrich %+v", c.text, p.Result, en.Sentiment)
		}
	}
}

func TestConcurrentEnrich(t *testing.T) {
	e := defaultEnricher(t)
	want := make([]*post.Enriched, len(weiboSuite))
	for i, c := range weiboSuite {
		want[i] = e.Analyze(c.text, now)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, c := range weiboSuite {
				got := e.Analyze(c.text, now)
				if !slices.Equal(got.Tokens, want[i].Tokens) || !slices.Equal(got.Brands, want[i].Brands) || got.Sentiment != want[i].Sentiment {
					t.Errorf("%s: concurrent result differs", c.text)
				}
			}
		})
	}
	wg.Wait()
}
