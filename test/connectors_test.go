package test

import (
	"context"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/test/fakeplatform"
)

// Each polling connector, run against the local fake platform through the
// whole pipeline, lands every post it published on iwom.raw.* exactly once
// in iwom.posts (the conformance suite in pipeline/connectors/conformance
// checks the raw stream against the platform's truth, across restarts).
func TestConnectorsIntoClickHouse(t *testing.T) {
	for _, kind := range []string{registry.KindWeibo, registry.KindWeiboMobile, registry.KindWechatMP} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, nil)
			fp, err := fakeplatform.New(fakeplatform.Options{Count: 1500, Seed: 31, Scenario: "crisis", End: testEnd})
			if err != nil {
				t.Fatal(err)
			}
			defer fp.Close()
			c, err := registry.Build(fp.Entry(kind, "fake-"+kind, true, ""), registry.Deps{Bus: e.app.Bus, Log: e.app.Log, Limits: e.app.Limits()})
			if err != nil {
				t.Fatal(err)
			}
			e.start(e.enrichRunner(), e.sinkRunner())
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			pub := e.app.Publisher(c.Name())
			// Twice: the second run resumes from the stored cursors and
			// whatever it fetches again is deduplicated.
			for i := 0; i < 2; i++ {
				if err := c.Run(ctx, pub); err != nil {
					t.Fatal(err)
				}
			}
			e.waitIdle()
			st, err := e.app.Bus.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var raw uint64
			for _, s := range st.Streams {
				if s.Name == bus.StreamRaw {
					raw = s.Messages
				}
			}
			if raw < 50 {
				t.Fatalf("only %d posts fetched", raw)
			}
			if got := e.count("SELECT count() FROM " + e.db + ".posts"); got != raw {
				t.Errorf("iwom.posts has %d posts, the raw stream %d", got, raw)
			}
			if got := e.count("SELECT uniqExact(platform, id) FROM " + e.db + ".posts_store"); got != raw {
				t.Errorf("%d distinct posts stored, the raw stream holds %d", got, raw)
			}
		})
	}
}
