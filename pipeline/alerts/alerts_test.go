package alerts

import (
	"fmt"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
)

func mk(i int, at time.Time, label string, brands ...string) *post.Enriched {
	return &post.Enriched{
		Post:      post.Post{Platform: "weibo", ID: fmt.Sprint(i), Text: "t", CreatedAt: at},
		Brands:    brands,
		Sentiment: post.Sentiment{Label: label},
	}
}

func TestNegativeSpike(t *testing.T) {
	rule := config.SpikeRule{Enabled: true, Window: 10 * time.Minute, BaselineWindows: 6, MinCount: 10, Ratio: 3, Cooldown: time.Hour, Samples: 3}
	e := NewEngine(rule)
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var fired []*Alert
	id := 0
	// An hour of 2 negative posts per window for two brands: no alert.
	for w := 0; w < 6; w++ {
		for k := 0; k < 2; k++ {
			id++
			fired = append(fired, e.Observe(mk(id, t0.Add(time.Duration(w)*10*time.Minute), post.Negative, "a", "b"), t0)...)
		}
	}
	if len(fired) != 0 {
		t.Fatalf("fired on the baseline: %+v", fired[0])
	}
	// A storm for brand a only: 30 negative posts in one window.
	storm := t0.Add(60 * time.Minute)
	for k := 0; k < 30; k++ {
		id++
		fired = append(fired, e.Observe(mk(id, storm.Add(time.Duration(k)*time.Second), post.Negative, "a"), t0)...)
		id++
		fired = append(fired, e.Observe(mk(id, storm, post.Positive, "b"), t0)...)
	}
	if len(fired) != 1 {
		t.Fatalf("want exactly one alert, got %d", len(fired))
	}
	a := fired[0]
	if a.Brand != "a" || a.Rule != KindNegativeSpike || a.Observed != 10 || a.Baseline != 2 || !a.WindowStart.Equal(storm) || len(a.SampleIDs) != 3 {
		t.Errorf("alert %+v", a)
	}
	if a.Subject() != "iwom.alerts.a.negative_spike" || a.ID != fmt.Sprintf("a:negative_spike:%d", storm.Unix()) {
		t.Errorf("subject %s id %s", a.Subject(), a.ID)
	}
	// Cooldown: another storm 20 minutes later stays quiet.
	for k := 0; k < 40; k++ {
		id++
		if got := e.Observe(mk(id, storm.Add(20*time.Minute), post.Negative, "a"), t0); len(got) != 0 {
			t.Fatalf("fired inside the cooldown")
		}
	}
}

func TestDisabled(t *testing.T) {
	e := NewEngine(config.SpikeRule{Enabled: false, Window: time.Minute, BaselineWindows: 1, MinCount: 1, Ratio: 1})
	if got := e.Observe(mk(1, time.Now(), post.Negative, "a"), time.Now()); got != nil {
		t.Errorf("disabled rule fired")
	}
}
