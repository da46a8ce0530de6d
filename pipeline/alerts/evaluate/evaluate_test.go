package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/iwom/iwom/pipeline/synth"
)

// The default rules meet the targets on the standard suite: recall >= 0.95
// on incidents of at least 3x, no alert on the noise days, median delay
// within a window, per rule.
func TestStandardSuiteMeetsTargets(t *testing.T) {
	rep, err := Run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if !rep.Targets.Met {
		t.Fatalf("targets not met: %v", rep.Targets.Failures)
	}
	for _, name := range []string{"volume_spike", "negative_spike", "negative_ratio", "crisis_keywords", "kol_mention", "viral_post"} {
		rr := rep.Rules[name]
		if rr == nil || rr.Incidents == 0 {
			t.Errorf("rule %s scored on no incident", name)
		}
	}
	// The JSON report has the documented shape.
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Rules map[string]map[string]any `json:"rules"`
		Noise *int                      `json:"noise_alerts"`
	}
	if err := json.Unmarshal(data, &shape); err != nil || shape.Noise == nil {
		t.Fatalf("report JSON: %v", err)
	}
	for _, k := range []string{"incidents", "detected", "alerts", "true_alerts", "precision", "recall", "median_delay_s"} {
		if _, ok := shape.Rules["negative_spike"][k]; !ok {
			t.Errorf("rules.negative_spike has no %s", k)
		}
	}
}

// The same seed gives the same report.
func TestDeterministic(t *testing.T) {
	run := func() *Report {
		rep, err := Run(context.Background(), Options{Scenarios: []string{synth.ScenarioViral, synth.ScenarioKOL}, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		rep.Seconds = 0
		return rep
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with the same seed differ")
	}
}
