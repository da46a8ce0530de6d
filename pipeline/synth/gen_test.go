package synth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/pipeline/post"
)

func watchList(t *testing.T) *brands.WatchList {
	t.Helper()
	wl, err := brands.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

var end = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func TestDeterministic(t *testing.T) {
	wl := watchList(t)
	out := func(seed uint64) string {
		g, err := New(Options{Count: 500, Seed: seed, Scenario: ScenarioCrisis, End: end}, wl)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteJSONL(&b, g.All()); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	a, b, c := out(1), out(1), out(2)
	if a != b {
		t.Error("same seed gave different posts")
	}
	if a == c {
		t.Error("different seeds gave the same posts")
	}
}

func TestRealisticMix(t *testing.T) {
	g, err := New(Options{Count: 5000, Seed: 9, Scenario: ScenarioCrisis, End: end}, watchList(t))
	if err != nil {
		t.Fatal(err)
	}
	posts := g.All()
	tr := g.Truth()
	if len(posts) != 5000 || tr.Total != 5000 {
		t.Fatalf("%d posts, truth %d", len(posts), tr.Total)
	}
	var tags, mentions, emos, chains, trad, big int
	ids := map[string]bool{}
	for i, p := range posts {
		if err := p.Validate(post.Limits{MaxTextBytes: 65536}); err != nil {
			t.Fatalf("post %d invalid: %v", i, err)
		}
		if ids[p.Key()] {
			t.Fatalf("duplicate id %s", p.Key())
		}
		ids[p.Key()] = true
		if i > 0 && p.CreatedAt.Before(posts[i-1].CreatedAt) {
			t.Fatalf("posts not in time order at %d", i)
		}
		if p.CreatedAt.Before(tr.Start) || !p.CreatedAt.Before(tr.End) {
			t.Fatalf("post %d at %s outside the span", i, p.CreatedAt)
		}
		tags += b2i(strings.Contains(p.Text, "#"))
		mentions += b2i(strings.Contains(p.Text, "@"))
		emos += b2i(strings.Contains(p.Text, "["))
		chains += b2i(strings.Contains(p.Text, "//@"))
		trad += b2i(strings.ContainsAny(p.Text, "滿貳服務後氣樂門銀貓寶爾"))
		big += b2i(p.Author.Followers > 1_000_000)
	}
	for name, n := range map[string]int{"hashtags": tags, "mentions": mentions, "emoticons": emos, "repost chains": chains, "traditional": trad, "authors > 1M followers": big} {
		if n < 20 {
			t.Errorf("only %d posts with %s", n, name)
		}
	}
	if tr.Crisis == nil || tr.Crisis.Brand != "siemens" || tr.Brands["siemens"][post.Negative] < tr.Crisis.Posts {
		t.Errorf("crisis truth %+v", tr.Crisis)
	}
}

// Every template, with every brand name and topic, is enriched to the
// brand and the sentiment label the generator claims: the truth file is
// only worth something if this holds.
func TestTemplatesMatchAnalyzer(t *testing.T) {
	e, err := enrich.Default()
	if err != nil {
		t.Fatal(err)
	}
	wl := watchList(t)
	g, err := New(Options{Count: 20000, Seed: 3, Scenario: ScenarioCrisis, End: end}, wl)
	if err != nil {
		t.Fatal(err)
	}
	posts := g.All()
	// Each generated post names exactly one brand.
	mismatch := map[string]int{}
	for _, p := range posts {
		en := e.Enrich(p, end)
		if len(en.Brands) != 1 {
			mismatch["brands "+strings.Join(en.Brands, ",")+": "+p.Text]++
		}
	}
	for _, tc := range templateCases(wl) {
		en := e.Analyze(tc.text, end)
		if len(en.Brands) != 1 || en.Brands[0] != tc.brand {
			t.Errorf("%q: brands %v, want [%s]", tc.text, en.Brands, tc.brand)
		}
		if en.Sentiment.Label != tc.label {
			t.Errorf("%q: %s (%.2f), want %s", tc.text, en.Sentiment.Label, en.Sentiment.Score, tc.label)
		}
	}
	for k, n := range mismatch {
		t.Errorf("%d generated posts: %s", n, k)
	}
}

type tcase struct{ text, brand, label string }

// templateCases expands every template with every name and topic.
func templateCases(wl *brands.WatchList) []tcase {
	var out []tcase
	add := func(tpls []string, label string, trad bool) {
		for _, b := range wl.Brands {
			names := []string{b.Name}
			for _, a := range b.Aliases {
				if !isASCII(a) && (hasTraditional(a) == trad) {
					names = append(names, a)
				}
			}
			if trad {
				names = names[1:]
			}
			for _, tpl := range tpls {
				for _, n := range names {
					for _, topic := range brandTopics[b.ID] {
						out = append(out, tcase{strings.NewReplacer("{b}", n, "{t}", topic).Replace(tpl), b.ID, label})
					}
				}
			}
		}
	}
	add(positiveTemplates, post.Positive, false)
	add(negativeTemplates, post.Negative, false)
	add(neutralTemplates, post.Neutral, false)
	add(positiveTrad, post.Positive, true)
	add(negativeTrad, post.Negative, true)
	for _, tpl := range crisisTemplates {
		for _, n := range []string{"西门子", "西門子"} {
			out = append(out, tcase{strings.ReplaceAll(tpl, "{b}", n), "siemens", post.Negative})
		}
	}
	for _, own := range repostPositive {
		out = append(out, tcase{own + "//@小王:西门子的冰箱太差了[怒]", "siemens", post.Positive})
	}
	for _, own := range repostNegative {
		out = append(out, tcase{own + "//@小王:西门子的冰箱太好用了[赞]", "siemens", post.Negative})
	}
	out = append(out, tcase{"转发微博//@小王:西门子的冰箱太好用了[赞]", "siemens", post.Neutral})
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
