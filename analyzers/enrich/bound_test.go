package enrich

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/analyzers/normalize"
	"github.com/iwom/iwom/pipeline/post"
)

// boundTexts are texts built to make the enriched form as large as
// possible against their length: one-byte tokens, characters JSON escapes
// six-fold, NFKC expansions, hashtags, mentions, emoticons and URLs end to
// end, and ordinary Chinese.
var boundTexts = map[string]string{
	"chinese":    strings.Repeat("西门子冰箱门关不上，客服投诉无门！", 80),
	"one-byte":   strings.Repeat("a b c d e f g ", 400),
	"escaped":    strings.Repeat("<a>&", 600),
	"mixed":      strings.Repeat("<冰>&箱 a,b;c ", 300),
	"nfkc":       strings.Repeat("\ufdfa㍿½", 300),
	"spans":      strings.Repeat("#a# @b [c] http://d.cn/e ", 300),
	"controls":   strings.Repeat("\u2028\x01\"\\", 600),
	"brands":     strings.Repeat("西门子 海尔 美的 格力 小米 华为 苹果 ", 100),
	"repostfold": strings.Repeat("好//@a:差//@b:", 300),
	"html":       strings.Repeat("<p>&amp;&lt;<br/>", 300),
}

// TestEnrichedBound: the bound the door checks (post.EnrichedBound, and
// the cheap one before it) is never below the size of what the enrich
// stage really produces.
func TestEnrichedBound(t *testing.T) {
	e, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for name, text := range boundTexts {
		p := &post.Post{Platform: "weibo", ID: "1", Text: text, CreatedAt: now, IngestedAt: now, Author: post.Author{ID: "a"}}
		raw, _ := json.Marshal(p)
		out, err := json.Marshal(e.Enrich(p, now))
		if err != nil {
			t.Fatal(err)
		}
		norm := normalize.Simplified(normalize.Text(text))
		bound, fast := post.EnrichedBound(len(raw), norm), post.EnrichedBoundFast(len(raw), len(text))
		if len(out) > bound || bound > fast {
			t.Errorf("%s: enriched %d bytes, bound %d, cheap bound %d", name, len(out), bound, fast)
		}
		t.Logf("%-10s text %6d  enriched %7d (%.1f×)  bound %7d (%.1f×)", name, len(text), len(out), float64(len(out))/float64(len(text)), bound, float64(bound)/float64(len(text)))
	}
}
