package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/bus"
	_ "github.com/iwom/iwom/pipeline/connectors/all" // every connector kind
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/pipeline/connectors/wechatmp"
	"github.com/iwom/iwom/pipeline/connectors/weibo"
	"github.com/iwom/iwom/pipeline/connectors/weibomobile"
	"github.com/iwom/iwom/test/fakeplatform"
)

// Each polling connector, run against the local fake platform through the
// whole pipeline, lands every post it published on iwom.raw.* exactly once
// in iwom.posts (the conformance suite in pipeline/connectors/conformance
// checks the raw stream against the platform's truth, across restarts).
func TestConnectorsIntoClickHouse(t *testing.T) {
	for _, kind := range []string{weibo.Kind, weibomobile.Kind, wechatmp.Kind} {
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

// iwomlab run --source fake:<kind> runs the whole pipeline with one
// connector of each kind against a local fake platform (make demo
// SOURCE=<kind>): it drains, and every post the connector published is
// stored once.
func TestConnectorsFakeSourceCLI(t *testing.T) {
	bin := iwomlabBinary(t)
	for _, kind := range registry.Kinds() {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, nil)
			cmd := exec.Command(bin, "run", "--source", "fake:"+kind, "--count", "400", "--seed", "3", "--scenario", "crisis",
				"--end", testEnd.Format(time.RFC3339), "--drain", "--drain-timeout", "2m", "--no-alerts")
			cmd.Env = append(os.Environ(), "IWOM_DATA_DIR="+t.TempDir(), "IWOM_NATS_EMBEDDED_LISTEN=127.0.0.1:-1",
				"IWOM_METRICS_LISTEN=", "IWOM_CLICKHOUSE_ADDR="+ch.Addr(), "IWOM_CLICKHOUSE_DATABASE="+e.db, "IWOM_LOG_FORMAT=json")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("iwomlab run --source fake:%s: %v\n%s", kind, err, out)
			}
			var published uint64
			for _, l := range strings.Split(string(out), "\n") {
				var m struct {
					Message   string `json:"message"`
					Published uint64 `json:"published"`
				}
				if json.Unmarshal([]byte(l), &m) == nil && m.Message == "source finished" {
					published = m.Published
				}
			}
			if published < 50 {
				t.Fatalf("fake:%s published %d posts:\n%s", kind, published, out)
			}
			if got := e.count("SELECT count() FROM " + e.db + ".posts"); got != published {
				t.Errorf("iwom.posts has %d posts, the source published %d", got, published)
			}
		})
	}
}
