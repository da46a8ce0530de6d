package brands

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/iwom/iwom/analyzers/query"
	"github.com/iwom/iwom/configs"
)

func defaultList(t *testing.T) *WatchList {
	t.Helper()
	w, err := Parse(configs.BrandsYAML)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestDefaultWatchList(t *testing.T) {
	w := defaultList(t)
	want := []string{"可口可乐", "杜蕾斯", "招商银行", "南方航空", "西门子", "天猫", "淘宝", "支付宝", "新浪微博", "施乐", "英特尔", "耐克", "戴尔"}
	ids := []string{"cocacola", "durex", "cmb", "csair", "siemens", "tmall", "taobao", "alipay", "weibo", "xerox", "intel", "nike", "dell"}
	if len(w.Brands) != len(want) {
		t.Fatalf("%d brands, want %d", len(w.Brands), len(want))
	}
	for i, b := range w.Brands {
		if b.Name != want[i] || b.ID != ids[i] {
			t.Errorf("brand %d = %s %s, want %s %s", i, b.ID, b.Name, ids[i], want[i])
		}
	}
}

func TestMatch(t *testing.T) {
	w := defaultList(t)
	cases := []struct {
		tokens string
		text   string
		want   []string
	}{
		{"招商银行 的 服务", "招商银行的服务", []string{"cmb"}},
		{"可口可樂 比 百事", "可口可樂比百事", []string{"cocacola"}},
		{"可口可乐 比 百事", "可口可乐比百事", []string{"cocacola"}}, // simplified form of 可口可樂
		{"i love my dell laptop and coca cola", "I love my DELL laptop and Coca-Cola", []string{"cocacola", "dell"}},
		{"", "I love my DELL laptop", []string{"dell"}}, // Latin names without a query are found in the text
		{"", "Dellwood and nikes are not brands", nil},
		{"招商 银行", "招商 银行", []string{"cmb"}}, // a query term matches split tokens
		{"西门 子", "西门 子", nil},               // an alias must be a whole token
		// 南航 has a query: the airline, not the university.
		{"南航 航班 又 延误 了", "南航航班又延误了", []string{"csair"}},
		{"南航 考研 分数线 出来 了", "南航考研分数线出来了", nil},
		{"南京航空航天大学 简称 南航", "南京航空航天大学简称南航", nil},
		{"china southern airlines 延误", "China Southern Airlines 延误", []string{"csair"}},
		{"#南航# 值机 好 慢", "#南航# 值机好慢", nil}, // the hashtag token alone is no word
		{"#南航# 南航 值机 好 慢", "#南航# 值机好慢", []string{"csair"}},
		{"cmb 的 信用卡", "CMB的信用卡", []string{"cmb"}},
		{"cmb 微波 背景辐射", "CMB微波背景辐射", nil},
	}
	for _, c := range cases {
		if got := w.Match(strings.Fields(c.tokens), c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Match(%q, %q) = %q, want %q", c.tokens, c.text, got, c.want)
		}
	}
}

// The brief's examples: 小米 the grain vs the phone, 苹果 the fruit vs the
// company, in either script.
func TestQueryBrands(t *testing.T) {
	w, err := Parse([]byte(`brands:
  - id: xiaomi
    name: 小米
    aliases: [小米, Xiaomi]
    query: 小米 AND (手机 OR 雷军 OR 发布会) NOT (小米粥 OR 熬) OR Xiaomi
  - id: apple
    name: 苹果
    aliases: [苹果, 蘋果, Apple]
    query: (苹果 OR Apple) AND (手机 OR iphone* OR ipad OR mac OR 发布会 OR 库克) OR 苹果手机 OR iPhone*
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tokens string
		want   []string
	}{
		{"雷军 说 小米 的 新 手机 很 好", []string{"xiaomi"}},
		{"早上 喝 了 小米粥", nil},
		{"用 小米 熬 粥", nil},
		{"小米 手机 和 小米粥", nil},
		{"xiaomi 14 ultra", []string{"xiaomi"}},
		{"蘋果 發佈會 很 精彩", []string{"apple"}},
		{"苹果 发布会 很 精彩", []string{"apple"}},
		{"这个 苹果 很 甜", nil},
		{"我 的 iphone15 坏 了", []string{"apple"}},
		{"苹果 手机 和 小米 手机", []string{"apple", "xiaomi"}},
	} {
		if got := w.Match(strings.Fields(c.tokens), strings.ReplaceAll(c.tokens, " ", "")); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Match(%q) = %q, want %q", c.tokens, got, c.want)
		}
	}
	if w.Query("apple") == nil || w.Query("nope") != nil {
		t.Error("Query lookup")
	}
}

func TestInvalid(t *testing.T) {
	for _, doc := range []string{
		"brands: [{id: 'Bad Id', name: x}]",
		"brands: [{id: a, name: x}, {id: a, name: y}]",
		"brands: [{id: a}]",
		"brands: [{id: a, name: 苹果}, {id: b, name: 蘋果, aliases: [苹果]}]",
		"brands: [{id: a, name: 苹果}, {id: b, name: 蘋果}]", // the same name in two scripts
		"brands: [{id: a, name: x, query: 'a AND'}]",
		"brands: {",
	} {
		if _, err := Parse([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", doc, err)
		}
	}
	_, err := Parse([]byte("brands: [{id: a, name: x, query: '(小米 OR'}]"))
	if err == nil || !strings.Contains(err.Error(), "column") {
		t.Errorf("query error %v does not point at a column", err)
	}
}

func TestMask(t *testing.T) {
	w := defaultList(t)
	if got := w.Mask("可口可乐和富士施乐都不错"); got != " 和 都不错" {
		t.Errorf("Mask = %q", got)
	}
}

func TestIsNameAndDict(t *testing.T) {
	w := defaultList(t)
	for _, n := range []string{"招商银行", "招商銀行", "招行", "cmb", "CMB", "西门子", "西門子"} {
		if !w.IsName(n) {
			t.Errorf("IsName(%s) = false", n)
		}
	}
	d := w.DictEntries()
	for _, n := range []string{"可口可乐 ", "可口可樂 ", "南方航空 "} {
		if !strings.Contains(d, n) {
			t.Errorf("DictEntries lacks %s", n)
		}
	}
}

func TestMentions(t *testing.T) {
	w := defaultList(t)
	text := "可口可乐比富士施乐好，施乐和Coke一样，cokes不算，中国南方航空"
	var got []string
	for _, m := range w.Mentions(text, nil) {
		got = append(got, m.ID+":"+text[m.Start:m.End])
	}
	want := []string{"cocacola:可口可乐", "xerox:富士施乐", "xerox:施乐", "cocacola:Coke", "csair:中国南方航空"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Mentions = %q, want %q", got, want)
	}
	if ms := w.Mentions(text, []string{"xerox"}); len(ms) != 2 {
		t.Errorf("Mentions(xerox) = %v", ms)
	}
}

func BenchmarkMatch(b *testing.B) {
	w, err := Parse(configs.BrandsYAML)
	if err != nil {
		b.Fatal(err)
	}
	tokens := strings.Fields("#西门子冰箱门# 我 家 西门子 冰箱 也 是 这样 门 关不上 投诉 无门 [抓狂] 南航 航班 延误")
	text := strings.Join(tokens, "")
	b.ReportAllocs()
	for b.Loop() {
		w.Match(tokens, text)
	}
}

var _ = query.Parse

func TestMaskNoAlloc(t *testing.T) {
	w := defaultList(t)
	s := "今天天气很好，心情不错"
	if n := testing.AllocsPerRun(100, func() { w.Mask(s) }); n != 0 {
		t.Errorf("Mask of text without names allocates %v times", n)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = w.AppendMasked(buf[:0], "可口可乐和富士施乐都不错") }); n != 0 {
		t.Errorf("AppendMasked allocates %v times", n)
	}
	if got := w.Mask("西門子和西门子,Coke"); got != " 和 ,Coke" {
		t.Errorf("Mask = %q", got)
	}
}
