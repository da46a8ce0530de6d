package alertsrun

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/post"
)

// The helpers below repeat those of the engine's tests
// (pipeline/alerts/engine_test.go): the same synthetic traffic, rules and
// engine options, so that the stage's alerts can be compared with an
// engine's.

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func mustRules(t testing.TB, y string) *alerts.Rules {
	t.Helper()
	rs, err := alerts.ParseRules([]byte(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func mustEngine(t testing.TB, rs *alerts.Rules) *alerts.Engine {
	t.Helper()
	e, err := alerts.NewEngine(rs, alerts.Options{Slot: time.Minute, Lateness: 2 * time.Minute, Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mkIn(id int, at time.Time, brand, label string) *alerts.Input {
	return &alerts.Input{Platform: "weibo", ID: fmt.Sprint(id), CreatedAt: at, ObservedAt: at.Add(10 * time.Second), Brands: []string{brand}, Labels: []string{label},
		Text: fmt.Sprintf("post %d", id), Keywords: []string{"kw-" + label}}
}

// gen makes synthetic traffic.
type gen struct {
	r  *rand.Rand
	id int
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 7))} }

// stream is Poisson traffic for brand at perMin posts a minute over
// [from, to), negShare of it negative.
func (g *gen) stream(brand string, from, to time.Time, perMin, negShare float64) []*alerts.Input {
	var out []*alerts.Input
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		for n := poisson(g.r, perMin); n > 0; n-- {
			g.id++
			label := post.Neutral
			if g.r.Float64() < negShare {
				label = post.Negative
			}
			out = append(out, mkIn(g.id, t.Add(time.Duration(g.r.IntN(60))*time.Second), brand, label))
		}
	}
	return out
}

// burst is n posts with label spread over d from at.
func (g *gen) burst(brand string, at time.Time, d time.Duration, n int, label string) []*alerts.Input {
	var out []*alerts.Input
	for i := 0; i < n; i++ {
		g.id++
		out = append(out, mkIn(g.id, at.Add(time.Duration(i)*d/time.Duration(n)), brand, label))
	}
	return out
}

func poisson(r *rand.Rand, l float64) int {
	lim, k, p := math.Exp(-l), 0, 1.0
	for {
		p *= r.Float64()
		if p <= lim {
			return k
		}
		k++
	}
}

func merge(parts ...[]*alerts.Input) []*alerts.Input {
	var out []*alerts.Input
	for _, p := range parts {
		out = append(out, p...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

const spikeRules = `
version: 1
rules:
  - name: negative_spike
    kind: negative_spike
    window: 10m
    min_count: 10
    min_ratio: 2
    min_z: 4
    cooldown: 1h
    severity: {min: 4, max: 10, low: 2, high: 20}
`
