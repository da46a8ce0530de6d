package post

import (
	"encoding/json"
	"testing"
	"time"
)

func samplePost() *Post {
	return &Post{Version: 1, Platform: "weibo", ID: "4900001000012345", URL: "https://weibo.com/1000007919/4900001000012345",
		Text:      "#西门子冰箱门# 买了西门子的冰箱才三个月，冰箱门就关不严了，客服一直推脱，太让人失望了[怒] @西门子家电 //@小王:同款",
		CreatedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), IngestedAt: time.Date(2026, 11, 20, 10, 0, 1, 0, time.UTC),
		Author:  Author{ID: "1000007919", Name: "小王1234", Followers: 12345, Verified: true, VerifiedType: 0, Location: "北京 朝阳区"},
		Metrics: Metrics{Reposts: 12, Comments: 34, Likes: 56}, Source: "gen"}
}

func sampleEnriched() *Enriched {
	return &Enriched{Post: *samplePost(), NormText: samplePost().Text, OwnText: "买了西门子的冰箱才三个月，冰箱门就关不严了",
		Tokens:   []string{"#西门子冰箱门#", "买", "了", "西门子", "的", "冰箱", "才", "三个", "月", "冰箱门", "就", "关不严", "了", "客服", "一直", "推脱", "太", "让", "人", "失望", "了", "[怒]", "@西门子家电"},
		Keywords: []string{"冰箱门", "推脱", "关不严", "客服", "失望"}, Hashtags: []string{"西门子冰箱门"}, Mentions: []string{"西门子家电", "小王"},
		Emoticons: []string{"[怒]"}, Brands: []string{"siemens"}, Sentiment: Sentiment{Score: -0.83, Label: Negative, Emotion: "anger"}, EnrichedAt: time.Now()}
}

func BenchmarkDecodeRaw(b *testing.B) {
	data, _ := json.Marshal(samplePost())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(data, Limits{MaxTextBytes: 65536}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEnriched(b *testing.B) {
	e := sampleEnriched()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEnriched(b *testing.B) {
	data, _ := json.Marshal(sampleEnriched())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeEnriched(data); err != nil {
			b.Fatal(err)
		}
	}
}
