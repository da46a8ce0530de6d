package alerts

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// benchRules are ten rules, all watching every brand.
const benchRules = `
version: 1
rules:
  - {name: volume_spike, kind: volume_spike, window: 10m, min_count: 40, min_ratio: 2, min_z: 6}
  - {name: negative_spike, kind: negative_spike, window: 10m, min_count: 12, min_ratio: 2, min_z: 4}
  - {name: volume_hour, kind: volume_spike, window: 1h, min_count: 100, min_ratio: 2, min_z: 6, baseline: {windows: 6, method: ewma}}
  - {name: negative_half_hour, kind: negative_spike, window: 30m, min_count: 20, min_ratio: 2, min_z: 4, baseline: {windows: 8}}
  - {name: negative_ratio, kind: negative_ratio, window: 1h, min_count: 120, min_share: 0.35}
  - {name: crisis_keywords, kind: keyword, window: 10m, min_count: 12, query: '投诉 OR 召回 OR 爆炸 OR 维权 OR 曝光 OR 致歉 OR 道歉 OR 起火 OR 自燃 OR 中毒 OR (质量 NEAR/3 问题)'}
  - {name: safety, kind: keyword, window: 30m, min_count: 5, query: '(起火 OR 爆炸 OR 受伤) AND NOT 演习'}
  - {name: media, kind: keyword, window: 1h, min_count: 3, query: '"央视 曝光" OR 315 OR 消协'}
  - {name: kol_mention, kind: kol_mention, min_followers: 50000000, verified_types: [1], sentiment: [negative]}
  - {name: viral_post, kind: velocity, min_growth: 3000, min_relative: 1, min_total: 2000, track: 50}
`

var benchWords = []string{"的", "冰箱", "质量", "太", "差", "了", "客服", "态度", "手机", "新品", "发布", "价格", "门店", "售后", "投诉", "问题", "好用", "推荐", "失望", "快递", "物流", "体验", "很", "不错", "[怒]", "[赞]", "#话题#"}

// BenchmarkObserve is the alert evaluation cost per post with 100 brands and
// 10 rules each (every post names one brand, a few in a hundred two).
func BenchmarkObserve(b *testing.B) {
	rs := mustRules(b, benchRules)
	e := mustEngine(b, rs)
	r := rand.New(rand.NewPCG(1, 2))
	brands := make([]string, 100)
	for i := range brands {
		brands[i] = fmt.Sprintf("brand%03d", i)
	}
	ins := make([]*Input, 50000)
	for i := range ins {
		bi := int(float64(len(brands)) * r.Float64() * r.Float64())
		in := &Input{Platform: "weibo", ID: fmt.Sprint(i), Brands: []string{brands[bi]}, Labels: []string{[]string{post.Positive, post.Neutral, post.Neutral, post.Negative}[r.IntN(4)]},
			Text: "西门子冰箱门又坏了，售后太差", Keywords: []string{"冰箱门", "售后"}, Followers: int64(r.IntN(5000)), Reposts: int64(r.IntN(100)), Comments: int64(r.IntN(50))}
		if r.IntN(50) == 0 {
			in.Brands = append(in.Brands, brands[r.IntN(len(brands))])
			in.Labels = append(in.Labels, post.Neutral)
		}
		for k := 0; k < 20; k++ {
			in.Tokens = append(in.Tokens, benchWords[r.IntN(len(benchWords))])
		}
		ins[i] = in
	}
	start := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := ins[i%len(ins)]
		in := *src
		// 20 posts a second of event time; every post is new.
		in.ID = src.ID + "-" + fmt.Sprint(i/len(ins))
		in.CreatedAt = start.Add(time.Duration(i) * 50 * time.Millisecond)
		in.ObservedAt = in.CreatedAt.Add(time.Second)
		e.Observe(&in, uint64(i+1))
	}
}
