// Package synth generates realistic Chinese Weibo/WeChat-style posts about
// the watch-list brands — #话题#, @mentions, [表情] emoticons, //@ repost
// chains, traditional-script posts, positive/neutral/negative mixes,
// heavy-tailed follower counts — deterministically from a seed, with the
// truth of what it generated (per brand and sentiment). Tests, benchmarks,
// the alert evaluation harness, the demo and the gen connector
// (pipeline/connectors/gen) use it.
package synth

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/pipeline/post"
)

// Scenarios.
const (
	ScenarioSteady = "steady"
	ScenarioCrisis = "crisis"
)

// Options configure a generator.
type Options struct {
	Count    int           // posts to generate (crisis posts included)
	Seed     uint64        //
	Scenario string        // steady or crisis
	End      time.Time     // posts span [End-Span, End)
	Span     time.Duration // default 24h
	// CrisisBrand is the brand of the crisis scenario (default siemens).
	CrisisBrand string
}

// Truth is what a generator produced, for tests to compare against.
type Truth struct {
	Seed      uint64                    `json:"seed"`
	Scenario  string                    `json:"scenario"`
	Start     time.Time                 `json:"start"`
	End       time.Time                 `json:"end"`
	Total     int                       `json:"total"`
	Platforms map[string]int            `json:"platforms"`
	Labels    map[string]int            `json:"labels"`
	Brands    map[string]map[string]int `json:"brands"` // brand -> label -> posts ("total" too)
	Crisis    *CrisisTruth              `json:"crisis,omitempty"`
	// Incidents are the injected incidents of the evaluation scenarios.
	Incidents []Incident `json:"incidents,omitempty"`
}

// count adds one generated post to the totals.
func (t *Truth) count(platform, brand, label string) {
	t.Total++
	t.Platforms[platform]++
	t.Labels[label]++
	bt := t.Brands[brand]
	if bt == nil {
		bt = map[string]int{}
		t.Brands[brand] = bt
	}
	bt[label]++
	bt["total"]++
}

// CrisisTruth describes the injected incident.
type CrisisTruth struct {
	Brand string    `json:"brand"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Posts int       `json:"posts"`
}

// Generator produces posts.
type Generator struct {
	opts    Options
	wl      *brands.WatchList
	rng     *rand.Rand
	truth   Truth
	authors []post.Author
}

// New checks opts and builds a generator for the brands of wl (brands
// without topic words get generic ones).
func New(opts Options, wl *brands.WatchList) (*Generator, error) {
	if opts.Count < 0 {
		return nil, fmt.Errorf("count must not be negative")
	}
	if opts.Span <= 0 {
		opts.Span = 24 * time.Hour
	}
	if opts.End.IsZero() {
		opts.End = time.Now().UTC().Truncate(time.Hour)
	}
	opts.End = opts.End.UTC()
	switch opts.Scenario {
	case "":
		opts.Scenario = ScenarioSteady
	case ScenarioSteady, ScenarioCrisis:
	default:
		if !isEvalScenario(opts.Scenario) {
			return nil, fmt.Errorf("unknown scenario %q (steady, crisis, or an evaluation scenario: %s)", opts.Scenario, strings.Join(EvalScenarios, ", "))
		}
	}
	if opts.CrisisBrand == "" {
		opts.CrisisBrand = "siemens"
	}
	if opts.Scenario == ScenarioCrisis && wl.Brand(opts.CrisisBrand) == nil {
		return nil, fmt.Errorf("crisis brand %q is not on the watch-list", opts.CrisisBrand)
	}
	g := &Generator{opts: opts, wl: wl, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}
	g.truth = Truth{Seed: opts.Seed, Scenario: opts.Scenario, Start: opts.End.Add(-opts.Span), End: opts.End,
		Platforms: map[string]int{}, Labels: map[string]int{}, Brands: map[string]map[string]int{}}
	g.makeAuthors(2000)
	return g, nil
}

func (g *Generator) makeAuthors(n int) {
	g.authors = make([]post.Author, n)
	for i := range g.authors {
		// Pareto-distributed followers: most have a few hundred, a few
		// have millions.
		u := g.rng.Float64()
		f := int64(50 / math.Pow(1-u, 1/1.05))
		if g.rng.IntN(50) == 0 {
			// About 2% are KOLs: log-uniform between 100k and 50M.
			f = int64(math.Exp(math.Log(1e5) + g.rng.Float64()*(math.Log(5e7)-math.Log(1e5))))
		}
		if f > 80_000_000 {
			f = 80_000_000
		}
		a := post.Author{
			ID:        strconv.FormatInt(1_000_000_000+int64(i)*7919, 10),
			Name:      nickParts1[g.rng.IntN(len(nickParts1))] + nickParts2[g.rng.IntN(len(nickParts2))] + strconv.Itoa(g.rng.IntN(10000)),
			Followers: f,
			Location:  locations[g.rng.IntN(len(locations))],
		}
		if f > 100_000 && g.rng.Float64() < 0.7 {
			a.Verified = true
			a.VerifiedType = []int{0, 2, 3}[g.rng.IntN(3)]
		} else {
			a.VerifiedType = -1
		}
		g.authors[i] = a
	}
}

// Truth returns what has been generated so far.
func (g *Generator) Truth() Truth { return g.truth }

type planned struct {
	at     time.Time
	label  string
	brand  string
	crisis bool
}

// All generates every post, in created_at order.
func (g *Generator) All() []*post.Post {
	if isEvalScenario(g.opts.Scenario) {
		return g.evalAll()
	}
	n := g.opts.Count
	crisisN := 0
	var cStart, cEnd time.Time
	if g.opts.Scenario == ScenarioCrisis {
		crisisN = n / 12
		if crisisN < 60 && n >= 120 {
			crisisN = 60
		}
		// The storm breaks at 80% of the span and lasts 40 minutes.
		cStart = g.truth.Start.Add(time.Duration(float64(g.opts.Span) * 0.8)).Truncate(time.Minute)
		cEnd = cStart.Add(40 * time.Minute)
		g.truth.Crisis = &CrisisTruth{Brand: g.opts.CrisisBrand, Start: cStart, End: cEnd, Posts: crisisN}
	}
	plans := make([]planned, 0, n)
	ids := make([]string, 0, len(g.wl.Brands))
	for _, b := range g.wl.Brands {
		ids = append(ids, b.ID)
	}
	for i := 0; i < n-crisisN; i++ {
		at := g.truth.Start.Add(time.Duration(g.rng.Int64N(int64(g.opts.Span))))
		// Brand popularity is skewed: a Zipf-like draw over the list.
		bi := int(math.Floor(math.Pow(g.rng.Float64(), 1.6) * float64(len(ids))))
		label := []string{post.Positive, post.Positive, post.Neutral, post.Neutral, post.Neutral, post.Negative}[g.rng.IntN(6)]
		plans = append(plans, planned{at: at, label: label, brand: ids[bi]})
	}
	for i := 0; i < crisisN; i++ {
		// Front-loaded: the storm grows fast, then fades.
		f := math.Pow(g.rng.Float64(), 1.5)
		at := cStart.Add(time.Duration(f * float64(cEnd.Sub(cStart))))
		plans = append(plans, planned{at: at, label: post.Negative, brand: g.opts.CrisisBrand, crisis: true})
	}
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].at.Before(plans[j].at) })
	out := make([]*post.Post, 0, len(plans))
	for i, p := range plans {
		out = append(out, g.make(i, p))
	}
	return out
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// name picks how the post names the brand: display name or an alias.
func (g *Generator) name(id string, trad bool) string {
	b := g.wl.Brand(id)
	if trad {
		for _, a := range b.Aliases {
			if a != b.Name && hasTraditional(a) {
				return a
			}
		}
	}
	// Mostly the display name; sometimes another Chinese alias.
	if g.rng.IntN(5) == 0 {
		var cands []string
		for _, a := range b.Aliases {
			if !isASCII(a) && !hasTraditional(a) {
				cands = append(cands, a)
			}
		}
		if len(cands) > 0 {
			return pick(g.rng, cands)
		}
	}
	return b.Name
}

// hasTraditional reports whether s has a character that only the
// traditional script uses (among the watch-list's names).
func hasTraditional(s string) bool { return strings.ContainsAny(s, "樂銀門貓寶爾樂國") }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (g *Generator) make(i int, pl planned) *post.Post {
	r := g.rng
	platform := pick(r, platforms)
	a := g.authors[int(math.Floor(math.Pow(r.Float64(), 2)*float64(len(g.authors))))]
	topics := brandTopics[pl.brand]
	if len(topics) == 0 {
		topics = []string{"产品", "服务", "新品"}
	}
	topic := pick(r, topics)
	var text, repostOf string
	fill := func(tpl string, trad bool) string {
		return strings.NewReplacer("{b}", g.name(pl.brand, trad), "{t}", topic).Replace(tpl)
	}
	switch {
	case pl.crisis:
		text = fill(pick(r, crisisTemplates), false)
		if r.IntN(3) == 0 {
			text += " @" + g.wl.Brand(pl.brand).Name + "官方"
		}
	case platform == "weibo" && r.IntN(8) == 0:
		// A repost: the reposter's words (or none) and the chain.
		orig := fill(pick(r, append(append([]string{}, positiveTemplates...), negativeTemplates...)), false)
		chain := "//@" + pick(r, g.authors).Name + ":" + orig
		repostOf = strconv.FormatInt(4_800_000_000_000_000+int64(r.IntN(1_000_000)), 10)
		text = repostText(r, pl.label, chain)
	case r.IntN(12) == 0 && pl.label != post.Neutral:
		text = tradText(r, pl.label, fill)
	default:
		text = plainText(r, pl.label, fill)
		if r.IntN(4) == 0 {
			text = "#" + g.wl.Brand(pl.brand).Name + topic + "# " + text
		}
		if r.IntN(6) == 0 {
			text += " @" + pick(r, g.authors).Name
		}
		if r.IntN(10) == 0 {
			text += " http://t.cn/A" + strconv.FormatUint(r.Uint64()%1e8, 36)
		}
	}
	ps := &post.Post{
		Version:   post.SchemaVersion,
		Platform:  platform,
		Text:      text,
		CreatedAt: pl.at.Truncate(time.Second),
		Author:    a,
		RepostOf:  repostOf,
		Source:    "gen",
		Metrics: post.Metrics{
			Reposts:  int64(math.Floor(math.Pow(r.Float64(), 6) * float64(a.Followers) / 50)),
			Comments: int64(math.Floor(math.Pow(r.Float64(), 5) * float64(a.Followers) / 80)),
			Likes:    int64(math.Floor(math.Pow(r.Float64(), 4) * float64(a.Followers) / 20)),
		},
	}
	if platform == "weibo" {
		ps.ID = strconv.FormatInt(4_900_000_000_000_000+int64(g.opts.Seed%1000)*1_000_000_000+int64(i), 10)
		ps.URL = "https://weibo.com/" + a.ID + "/" + ps.ID
	} else {
		ps.ID = fmt.Sprintf("mp-%d-%d", g.opts.Seed%1000, i)
		ps.Kind = "comment"
		ps.URL = "https://mp.weixin.qq.com/s/" + strconv.FormatUint(g.opts.Seed, 36) + strconv.Itoa(i)
		ps.Metrics.Reads = ps.Metrics.Likes * 20
		ps.Author.VerifiedType = 0
		ps.Author.Verified = false
	}
	g.truth.count(platform, pl.brand, pl.label)
	return ps
}

// repostText is a repost of chain with the reposter's own words carrying
// label (none for neutral: the platform's default 转发微博).
func repostText(r *rand.Rand, label, chain string) string {
	switch label {
	case post.Positive:
		return pick(r, repostPositive) + chain
	case post.Negative:
		return pick(r, repostNegative) + chain
	}
	return "转发微博" + chain
}

// tradText is a traditional-script post of a positive or negative label.
func tradText(r *rand.Rand, label string, fill func(string, bool) string) string {
	if label == post.Positive {
		return fill(pick(r, positiveTrad), true)
	}
	return fill(pick(r, negativeTrad), true)
}

// plainText is a simplified-script post of label.
func plainText(r *rand.Rand, label string, fill func(string, bool) string) string {
	switch label {
	case post.Positive:
		return fill(pick(r, positiveTemplates), false)
	case post.Negative:
		return fill(pick(r, negativeTemplates), false)
	}
	return fill(pick(r, neutralTemplates), false)
}

// WriteJSONL writes posts as JSON lines.
func WriteJSONL(w io.Writer, posts []*post.Post) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, p := range posts {
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("writing post: %w", err)
		}
	}
	return nil
}
