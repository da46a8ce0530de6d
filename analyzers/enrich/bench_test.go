package enrich

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/synth"
)

func benchPosts(b *testing.B, n int) []*post.Post {
	b.Helper()
	wl, err := brands.Load("")
	if err != nil {
		b.Fatal(err)
	}
	g, err := synth.New(synth.Options{Count: n, Seed: 11, Scenario: synth.ScenarioCrisis, End: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, wl)
	if err != nil {
		b.Fatal(err)
	}
	return g.All()
}

func BenchmarkEnrich(b *testing.B) {
	benchEnrich(b, benchPosts(b, 4000))
}

// benchEnrich enriches posts one after another, one at a time.
func benchEnrich(b *testing.B, posts []*post.Post) {
	e, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	var bytes int
	for _, p := range posts {
		bytes += len(p.Text)
	}
	now := time.Now()
	b.SetBytes(int64(bytes / len(posts)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Enrich(posts[i%len(posts)], now)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// weiboLength joins consecutive generated posts into posts of at least
// 180 bytes: Weibo-length text (gse's 2.3 MB/s is about 12,000 such posts
// per second), with the generator's mix of hashtags, mentions, emoticons,
// repost chains and scripts.
func weiboLength(posts []*post.Post) []*post.Post {
	var out []*post.Post
	for i := 0; i < len(posts); {
		p := *posts[i]
		i++
		for len(p.Text) < 180 && i < len(posts) {
			p.Text += "，" + posts[i].Text
			i++
		}
		out = append(out, &p)
	}
	return out
}

func BenchmarkEnrichWeiboLength(b *testing.B) {
	benchEnrich(b, weiboLength(benchPosts(b, 12000)))
}

func BenchmarkEnrichParallel(b *testing.B) {
	e, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	posts := benchPosts(b, 4000)
	now := time.Now()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Enrich(posts[int(next.Add(1))%len(posts)], now)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/float64(runtime.GOMAXPROCS(0)), "posts/s/core")
}
