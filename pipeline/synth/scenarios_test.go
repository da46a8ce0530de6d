package synth

import (
	"bytes"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// The evaluation scenarios are deterministic, valid, in observation order,
// and their truth describes what they injected.
func TestEvalScenarios(t *testing.T) {
	wl := watchList(t)
	end := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	wantKinds := map[string]map[string]int{
		ScenarioSpikes: {IncidentVolumeSpike: 5, IncidentNegativeSpike: 8, IncidentComplaintWave: 1},
		ScenarioDrift:  {IncidentNegativeDrift: 1},
		ScenarioViral:  {IncidentViral: 1},
		ScenarioKOL:    {IncidentKOL: 3},
		ScenarioNoise:  {},
	}
	for _, sc := range EvalScenarios {
		t.Run(sc, func(t *testing.T) {
			mk := func(seed uint64) ([]*post.Post, Truth) {
				g, err := New(Options{Seed: seed, Scenario: sc, End: end}, wl)
				if err != nil {
					t.Fatal(err)
				}
				return g.All(), g.Truth()
			}
			posts, truth := mk(3)
			again, _ := mk(3)
			var a, b bytes.Buffer
			_ = WriteJSONL(&a, posts)
			_ = WriteJSONL(&b, again)
			if a.String() != b.String() {
				t.Fatal("same seed, different posts")
			}
			if truth.End.Sub(truth.Start) != scenarioSpan(sc) {
				t.Errorf("span %s", truth.End.Sub(truth.Start))
			}
			kinds := map[string]int{}
			for _, in := range truth.Incidents {
				kinds[in.Kind]++
				if in.Start.Before(truth.Start) || in.End.After(truth.End) || !in.Start.Before(in.End) || in.Posts == 0 {
					t.Errorf("incident %+v outside the scenario or empty", in)
				}
			}
			for k, n := range wantKinds[sc] {
				if kinds[k] != n {
					t.Errorf("%d %s incidents, want %d", kinds[k], k, n)
				}
			}
			if sc == ScenarioNoise && len(truth.Incidents) != 0 {
				t.Errorf("noise has incidents: %v", truth.Incidents)
			}
			seen := map[string]*post.Post{}
			for i, p := range posts {
				if err := p.Validate(post.Limits{MaxTextBytes: 65536}); err != nil {
					t.Fatalf("post %d: %v", i, err)
				}
				if i > 0 && p.IngestedAt.Before(posts[i-1].IngestedAt) {
					t.Fatalf("post %d observed before the previous one", i)
				}
				if prev := seen[p.Key()]; prev != nil {
					// A later observation: same post, counts not smaller.
					if prev.Text != p.Text || !prev.CreatedAt.Equal(p.CreatedAt) || p.Metrics.Reposts+p.Metrics.Comments < prev.Metrics.Reposts+prev.Metrics.Comments {
						t.Fatalf("observation of %s differs from the first", p.Key())
					}
				}
				seen[p.Key()] = p
			}
			if truth.Total != len(seen) {
				t.Errorf("truth counts %d posts, %d distinct generated", truth.Total, len(seen))
			}
			for _, in := range truth.Incidents {
				if in.PostID != "" && seen[in.PostID] == nil {
					t.Errorf("incident post %s not generated", in.PostID)
				}
			}
			if sc == ScenarioViral {
				obs := 0
				for _, p := range posts {
					if p.Key() == truth.Incidents[0].PostID {
						obs++
					}
				}
				if obs < 20 {
					t.Errorf("viral post observed %d times", obs)
				}
			}
		})
	}
}

func TestUnknownScenario(t *testing.T) {
	if _, err := New(Options{Scenario: "tsunami"}, watchList(t)); err == nil {
		t.Error("unknown scenario accepted")
	}
}
