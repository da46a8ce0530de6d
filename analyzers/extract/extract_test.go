package extract

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	text := "#西门子冰箱门# 又坏了[怒][怒] @西门子家电 快处理！详情 http://t.cn/A6xyz。 //@小王:同款[泪] //@老李: #吐槽大会[超话]# 转发"
	r := Parse(text)
	if want := []string{"西门子冰箱门", "吐槽大会"}; !reflect.DeepEqual(r.Hashtags, want) {
		t.Errorf("hashtags = %q, want %q", r.Hashtags, want)
	}
	if want := []string{"西门子家电", "小王", "老李"}; !reflect.DeepEqual(r.Mentions, want) {
		t.Errorf("mentions = %q, want %q", r.Mentions, want)
	}
	if want := []string{"[怒]", "[怒]", "[泪]"}; !reflect.DeepEqual(r.Emoticons, want) {
		t.Errorf("emoticons = %q, want %q", r.Emoticons, want)
	}
	if want := []string{"http://t.cn/A6xyz"}; !reflect.DeepEqual(r.URLs, want) {
		t.Errorf("urls = %q, want %q", r.URLs, want)
	}
	if !strings.HasSuffix(r.OwnText, "http://t.cn/A6xyz。") || strings.Contains(r.OwnText, "小王") {
		t.Errorf("own text = %q", r.OwnText)
	}
	if !strings.HasPrefix(r.Chain, "//@小王:") {
		t.Errorf("chain = %q", r.Chain)
	}
}

// Full-width ＃ (text that skipped normalisation) and super topics (超话).
func TestHashtagForms(t *testing.T) {
	r := Parse("＃西门子冰箱门＃ 又坏了 #小米[超话]# #华为超话#")
	if want := []string{"西门子冰箱门", "小米", "华为"}; !reflect.DeepEqual(r.Hashtags, want) {
		t.Errorf("hashtags = %q, want %q", r.Hashtags, want)
	}
	if len(r.Spans) != 3 || r.Spans[0].Kind != Hashtag {
		t.Errorf("spans = %+v", r.Spans)
	}
}

func TestEmptyRepost(t *testing.T) {
	own, chain := SplitRepost("转发微博//@招商银行:新功能上线啦[鼓掌]")
	if own != "" || !strings.HasPrefix(chain, "//@招商银行") {
		t.Errorf("own=%q chain=%q", own, chain)
	}
	if own, _ := SplitRepost("太棒了//@a:b"); own != "太棒了" {
		t.Errorf("own=%q", own)
	}
}

func TestNotSpecial(t *testing.T) {
	for _, s := range []string{"# 空 #a", "[]", "[这不是一个表情因为太长了]", "##", "邮箱 a@", "http://"} {
		r := Parse(s)
		if len(r.Hashtags)+len(r.Emoticons)+len(r.URLs)+len(r.Mentions) != 0 && s != "# 空 #a" {
			t.Errorf("Parse(%q) found %+v", s, r)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("#话题# @用户 [哈哈] http://t.cn/x //@a:b")
	f.Add("[[[###@@@")
	f.Fuzz(func(t *testing.T, s string) {
		r := Parse(s)
		prev := 0
		for _, sp := range r.Spans {
			if sp.Start < prev || sp.End <= sp.Start || sp.End > len(s) {
				t.Fatalf("bad span %+v in %q", sp, s)
			}
			prev = sp.End
		}
	})
}

func BenchmarkParse(b *testing.B) {
	s := "#西门子冰箱门# 又坏了[怒] @西门子家电 快处理！详情 http://t.cn/A6xyz //@小王:同款[泪]"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Parse(s)
	}
}
