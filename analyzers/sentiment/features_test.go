package sentiment

import (
	"slices"
	"testing"
)

const testBits = 20

func features(text string) []uint32 {
	f, _ := appendFeatures(nil, text, testBits)
	slices.Sort(f)
	return f
}

func has(feats []uint32, h uint64) bool {
	_, ok := slices.BinarySearch(feats, bucket(mix64(h), testBits))
	return ok
}

func TestFeaturesSkipNonText(t *testing.T) {
	for _, text := range []string{
		"",
		"   \n\t",
		"http://t.cn/A6abcdEF",
		"https://weibo.com/u/123?x=1",
		"@张三",
		"@Lucky_L-Tanas",
		"#西门子#",
		"#新型冠状病毒# #武汉加油#",
		"\u200b\ufeff",
		"，。、；：“”（）",
	} {
		if f := features(text); len(f) != 0 {
			t.Errorf("%q: %d features, want none", text, len(f))
		}
	}
}

func TestFeaturesStripMarkup(t *testing.T) {
	// Mentions, URLs and hashtags add nothing and split segments.
	for _, tc := range []struct{ text, same string }{
		{"@张三 服务很好", "服务很好"},
		{"服务很好 http://t.cn/A6abcd", "服务很好"},
		{"#话题#服务很好", "服务很好"},
		{"服务很好//@李四:", "服务很好"},
		{"ＡＢＣ１２３服务很好！", "abc000服务很好!"},
		{"哈哈哈哈哈哈", "哈哈哈"},
		{"太好了！！！！！", "太好了!!!"},
	} {
		if got, want := features(tc.text), features(tc.same); !slices.Equal(got, want) {
			t.Errorf("features(%q) differ from features(%q)", tc.text, tc.same)
		}
	}
}

func TestFeaturesUnclosedMarkup(t *testing.T) {
	// An unclosed [ or # is punctuation; the text around it still counts.
	for _, text := range []string{"好[吃", "好#吃", "[好吃", "好吃]"} {
		if f := features(text); len(f) == 0 {
			t.Errorf("%q: no features", text)
		}
	}
}

func TestNegationScope(t *testing.T) {
	f := features("不好吃")
	for _, h := range []uint64{saltNegUni ^ uint64('好'), saltNegUni ^ uint64('吃'), saltNegBi ^ pair('好', '吃')} {
		if !has(f, h) {
			t.Errorf("不好吃: missing negation feature %x", h)
		}
	}
	// The scope ends at punctuation and after negScope characters.
	f = features("没有，好")
	if has(f, saltNegUni^uint64('好')) {
		t.Error("没有，好: negation crossed punctuation")
	}
	f = features("不是很想去吃")
	if has(f, saltNegUni^uint64('吃')) {
		t.Error("不是很想去吃: negation scope too long")
	}
	// 没有 is one negator.
	f = features("没有好")
	if has(f, saltNegUni^uint64('有')) || !has(f, saltNegUni^uint64('好')) {
		t.Error("没有好: 没有 not read as one negator")
	}
	// Words whose first character is no negator.
	for _, text := range []string{"非常好", "特别好", "不错好", "对不起好", "无论好", "不过好"} {
		if has(features(text), saltNegUni^uint64('好')) {
			t.Errorf("%s: read as a negation", text)
		}
	}
}

func TestDegreeScope(t *testing.T) {
	if !has(features("很好"), saltIntUni^uint64('好')) {
		t.Error("很好: no intensifier feature")
	}
	if !has(features("非常好"), saltIntUni^uint64('好')) {
		t.Error("非常好: no intensifier feature")
	}
	if !has(features("有点贵"), saltDimUni^uint64('贵')) {
		t.Error("有点贵: no diminisher feature")
	}
	if has(features("不太好"), saltIntUni^uint64('好')) {
		t.Error("不太好: 太 after a negator read as an intensifier")
	}
}

func TestContrast(t *testing.T) {
	f := features("价格贵，但是质量好")
	if !has(f, saltConUni^uint64('好')) || has(f, saltConUni^uint64('贵')) {
		t.Error("contrast features not limited to the part after 但是")
	}
	if has(features("不但好"), saltConUni^uint64('好')) {
		t.Error("不但 read as a contrast")
	}
}

func TestEmoticons(t *testing.T) {
	pos, _ := appendFeatures(nil, "[哈哈]", testBits)
	if !slices.Contains(pos, idxEmoPositive) {
		t.Error("[哈哈]: no positive group feature")
	}
	neg, _ := appendFeatures(nil, "[泪]", testBits)
	if !slices.Contains(neg, idxEmoNegative) {
		t.Error("[泪]: no negative group feature")
	}
	if a, b := features("[Good]"), features("[good]"); !slices.Equal(a, b) {
		t.Error("emoticon names are not case-folded")
	}
	for _, text := range []string{"[微笑]", "[doge]", "[允悲]", "[笑cry]", "[呵呵]"} {
		f, flags := appendFeatures(nil, text, testBits)
		if flags&flagIrony == 0 {
			t.Errorf("%s: irony flag not set", text)
		}
		if !slices.Equal(f, []uint32{idxEmoIronic}) {
			t.Errorf("%s: features %v, want only the ironic group", text, f)
		}
	}
	if _, flags := appendFeatures(nil, "呵呵", testBits); flags != flagHehe {
		t.Errorf("呵呵: flags %b, want only flagHehe", flags)
	}
	// Emoji are features of their own.
	if len(features("😭")) != 1 {
		t.Error("emoji not a feature")
	}
}

func TestBucketAvoidsReserved(t *testing.T) {
	for h := uint64(0); h < 1<<12; h++ {
		if b := bucket(h<<(64-testBits), testBits); b < numReserved {
			t.Fatalf("bucket(%x) = %d, a reserved index", h, b)
		}
	}
}

func TestSlang(t *testing.T) {
	for text, want := range map[string]uint32{
		"周杰伦yyds":    idxSlangPositive,
		"YYDS":       idxSlangPositive,
		"这个口红绝绝子":    idxSlangPositive,
		"服务太拉胯了":     idxSlangNegative,
		"大家避雷这家店":    idxSlangNegative,
		"一点都不给力":     idxSlangNegative, // negated positive word
		"这家店不靠谱":     idxSlangNegative,
		"又被割韭菜了":     idxSlangNegative,
		"必须给哥哥打CALL": idxSlangPositive,
	} {
		f, _ := appendFeatures(nil, text, testBits)
		other := uint32(idxSlangPositive + idxSlangNegative - want)
		if !slices.Contains(f, want) || slices.Contains(f, other) {
			t.Errorf("%s: features lack group %d or hold group %d", text, want, other)
		}
	}
	for _, text := range []string{"yydsx", "这家店很普通"} {
		f, _ := appendFeatures(nil, text, testBits)
		if slices.Contains(f, idxSlangPositive) || slices.Contains(f, idxSlangNegative) {
			t.Errorf("%s: slang group found", text)
		}
	}
}

// Clauses asking for information contribute no features; complaints in
// question form do.
func TestQuestions(t *testing.T) {
	for _, text := range []string{
		"请问芯片在哪里可以买到？",
		"有人用过这款显示器吗",
		"有没有人知道保修期多久",
		"多少钱？",
		"新品什么时候上架",
	} {
		if f := features(text); len(f) != 0 {
			t.Errorf("%s: %d features, want none", text, len(f))
		}
	}
	for _, text := range []string{
		"怎么还没到？",
		"为什么又坏了？",
		"凭什么不给退？",
		"这也叫服务吗？",
		"好用吗",
		"到底在哪里买？？",
	} {
		if f := features(text); len(f) == 0 {
			t.Errorf("%s: no features", text)
		}
	}
	// Only the question clause is dropped.
	a, b := features("太差了，请问在哪里投诉？"), features("太差了")
	if !slices.Equal(a, b) {
		t.Errorf("features %v, want those of the first clause %v", a, b)
	}
}
