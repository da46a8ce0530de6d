package registry_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	_ "github.com/iwom/iwom/pipeline/connectors/all"
	"github.com/iwom/iwom/pipeline/connectors/httpingest"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/pipeline/connectors/wechatpush"
	"github.com/iwom/iwom/pipeline/connectors/weibo"
	"github.com/iwom/iwom/pipeline/connectors/weibomobile"
)

func deps() registry.Deps {
	return registry.Deps{Store: kit.NewMemStore(), Reg: prometheus.NewRegistry(), Log: zerolog.Nop(), Keywords: []string{"西门子", "可口可乐"}}
}

// entries decodes a connectors: list from YAML as the config loader does:
// ${VAR} expanded first.
func entries(t *testing.T, doc string) []registry.Entry {
	t.Helper()
	var v struct {
		Connectors any `yaml:"connectors"`
	}
	if err := yaml.Unmarshal([]byte(os.ExpandEnv(doc)), &v); err != nil {
		t.Fatalf("parsing YAML: %v\n%s", err, doc)
	}
	es, err := registry.Entries(v.Connectors)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestKinds(t *testing.T) {
	if got := strings.Join(registry.Kinds(), ","); got != "http,wechat-mp,wechat-push,weibo,weibo-mobile" { // every kind, registered by its package, sorted
		t.Errorf("registry.Kinds() = %s", got)
	}
}

// TestReadmeExamples builds every example of the connectors README, so
// that the documentation stays true.
func TestReadmeExamples(t *testing.T) {
	for k, v := range map[string]string{
		"WEIBO_TOKEN": "2.00token", "WEIBO_COOKIE": "SUB=x", "WECHAT_TOKEN": "tok",
		"WECHAT_AES_KEY": strings.Repeat("a", 43), "WECHAT_SECRET": "s3cret", "CRAWLER_TOKEN": "crawler-token-0123456789",
	} {
		t.Setenv(k, v)
	}
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	kinds := map[string]bool{}
	for _, b := range blocks {
		for _, e := range entries(t, b[1]) {
			c, err := registry.Build(e, deps())
			if err != nil {
				t.Errorf("README example: %v\n%s", err, b[1])
				continue
			}
			if _, ok := c.(registry.Readier); !ok {
				t.Errorf("%s does not implement registry.Readier", c.Name())
			}
			kinds[e["kind"].(string)] = true
		}
	}
	for _, k := range registry.Kinds() {
		if !kinds[k] {
			t.Errorf("the README has no example for %s", k)
		}
	}
}

func TestDecodeDefaultsAndTypes(t *testing.T) {
	es := entries(t, `
connectors:
  - kind: weibo
    name: wb
    access_token: t
    home_timeline: "false"
    users: [1642634100]
    search_watchlist: true
    search: ["西门子"]
    count: "50"
    interval: 2m
    intervals: {search: 5m}
  - kind: wechat-push
    name: mp-main
    token: tok
    timestamp_window: 0
`)
	c, err := registry.Build(es[0], deps())
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "wb" {
		t.Errorf("name %q", c.Name())
	}
	cfg := weibo.DefaultConfig()
	if err := registry.Decode(es[0], &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HomeTimeline || cfg.Users[0] != "1642634100" || cfg.Count != 50 || cfg.Interval != 2*time.Minute ||
		cfg.Intervals["search"] != 5*time.Minute || cfg.MaxPages != 10 || cfg.BaseURL != weibo.DefaultBaseURL {
		t.Errorf("decoded %+v", cfg)
	}
	pcfg := wechatpush.DefaultConfig()
	if err := registry.Decode(es[1], &pcfg); err != nil || pcfg.TimestampWindow != 0 || pcfg.Listen != "127.0.0.1:8081" {
		t.Errorf("wechat-push: %+v %v", pcfg, err)
	}
	if _, err := registry.Build(es[1], deps()); err != nil {
		t.Error(err)
	}
}

func TestSearchWatchlist(t *testing.T) {
	e := registry.Entry{"kind": "weibo-mobile", "name": "m", "search": []any{"西门子", "x"}, "search_watchlist": true}
	cfg := weibomobile.DefaultConfig()
	if err := registry.Decode(e, &cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Build(e, deps()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(registry.AppendNew(cfg.Search, deps().Keywords), ","); got != "西门子,x,可口可乐" {
		t.Errorf("queries %s", got)
	}
}

// TestErrorsNameEntryAndKey: every configuration error says which entry
// and which key.
func TestErrorsNameEntryAndKey(t *testing.T) {
	cases := []struct {
		yaml, want string
	}{
		{"- {kind: wechat-push, name: mp-main, token: t, timestamp_window: -5m}", "connectors[0] (mp-main): timestamp_window: must not be negative"},
		{"- {kind: wechat-push, name: mp-main, token: t, timestamp_window: 5x}", "connectors[0] (mp-main): timestamp_window: "},
		{"- {kind: wechat-push, name: mp-main, token: t, timestamp_window: 300}", "connectors[0] (mp-main): timestamp_window: 300 has no unit"},
		{"- {kind: wechat-push, name: mp-main, token: t, tokne: x}", "connectors[0] (mp-main): tokne: unknown key"},
		{"- {kind: wechat-push, name: mp-main}", "connectors[0] (mp-main): token: must be set"},
		{"- {kind: wechat-push, name: mp-main, token: t, encoding_aes_key: short}", "connectors[0] (mp-main): encoding_aes_key: must be 43 characters"},
		{"- {kind: weibo, name: wb, access_token: t, count: many}", "connectors[0] (wb): count: "},
		{"- {kind: weibo, name: wb, access_token: t, users: [abc]}", "connectors[0] (wb): users[0]: "},
		{"- {kind: weibo, name: wb, access_token: t, intervals: {home: 1m}}", "connectors[0] (wb): intervals.home: unknown source"},
		{"- {kind: wechat-mp, name: mp, appid: wx1}", "connectors[0] (mp): secret: must be set"},
		{"- {kind: http, name: in}", "connectors[0] (in): tokens, tokens_env: at least one bearer token"},
		{"- {kind: http, name: in, tokens: [short]}", "connectors[0] (in): tokens[0]: must be at least 16 characters"},
		{"- {kind: weibo-mobile, name: m}", "connectors[0] (m): users, search: nothing to poll"},
		{"- {kind: telegram, name: tg}", `connectors[0] (tg): kind: unknown "telegram"`},
		{"- {name: x}", "connectors[0] (x): kind: missing"},
		{"- {kind: http}", "connectors[0]: name: missing"},
		{"- {kind: http, name: Bad Name}", `connectors[0] (Bad Name): name: "Bad Name" must be lower-case`},
		{"- {kind: http, name: a, tokens: [0123456789abcdef0]}\n- {kind: http, name: a, tokens: [0123456789abcdef0]}", "connectors[1] (a): name: already used by connectors[0]"},
	}
	for _, c := range cases {
		_, err := registry.BuildAll(entries(t, "connectors:\n"+indent(c.yaml)), deps())
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s…", c.yaml, err, c.want)
		}
	}
	_, err := registry.Build(registry.Entry{"kind": "http", "name": "in"}, deps())
	if err == nil || !strings.HasPrefix(err.Error(), "connector (in): tokens") {
		t.Errorf("registry.Build error: %v", err)
	}
}

// TestStrictDecoding: connector entries are decoded as strictly as the
// rest of the configuration (config.DecodeStrict): a bare number is not a
// duration, a fraction is not an integer, and an integer must fit its
// field.
func TestStrictDecoding(t *testing.T) {
	cases := []struct {
		yaml, want string
	}{
		{"- {kind: weibo, name: wb, access_token: t, interval: 300}", "connectors[0] (wb): interval: 300 has no unit"},
		{"- {kind: weibo, name: wb, access_token: t, intervals: {search: 60}}", "connectors[0] (wb): intervals[search]: 60 has no unit"},
		{"- {kind: weibo, name: wb, access_token: t, count: 1.9}", "connectors[0] (wb): count: must be a whole number, not 1.9"},
		{`- {kind: weibo, name: wb, access_token: t, count: "1.9"}`, "connectors[0] (wb): count: 1.9 is not a whole number"},
		{"- {kind: weibo, name: wb, access_token: t, count: 9223372036854775808}", "connectors[0] (wb): count: 9223372036854775808 is out of range"},
		{"- {kind: http, name: in, tokens: [0123456789abcdef0], max_body: 1e30}", "connectors[0] (in): max_body: 1e+30 is out of range"},
	}
	for _, c := range cases {
		_, err := registry.BuildAll(entries(t, "connectors:\n"+indent(c.yaml)), deps())
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s…", c.yaml, err, c.want)
		}
	}
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// TestSecretsNotInErrors: a bad entry's error does not repeat its secrets.
func TestSecretsNotInErrors(t *testing.T) {
	_, err := registry.Build(registry.Entry{"kind": "wechat-mp", "name": "mp", "appid": "wx1", "secret": "TOPSECRET", "page_size": 99}, deps())
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("error %v", err)
	}
}

func TestEntries(t *testing.T) {
	if es, err := registry.Entries(nil); err != nil || es != nil {
		t.Errorf("nil: %v %v", es, err)
	}
	if _, err := registry.Entries("x"); err == nil {
		t.Error("a string is accepted as a list")
	}
	if _, err := registry.Entries([]any{1}); err == nil || !strings.HasPrefix(err.Error(), "connectors[0]") {
		t.Errorf("a number entry: %v", err)
	}
	es, err := registry.Entries([]any{map[any]any{"kind": "http"}})
	if err != nil || es[0]["kind"] != "http" {
		t.Errorf("map[any]any: %v %v", es, err)
	}
}

func TestSharedRegistry(t *testing.T) {
	d := deps()
	es := entries(t, `
connectors:
  - {kind: http, name: a, tokens: [0123456789abcdef0]}
  - {kind: http, name: b, tokens: [0123456789abcdef0], listen: "127.0.0.1:0"}
`)
	cs, err := registry.BuildAll(es, d)
	if err != nil || len(cs) != 2 {
		t.Fatalf("%v %v", cs, err)
	}
	if _, ok := cs[1].(*httpingest.Connector); !ok {
		t.Errorf("%T", cs[1])
	}
	mfs, err := d.Reg.(*prometheus.Registry).Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "iwom_connector_posts_total" {
			found = len(mf.GetMetric()) == 6 // 3 outcomes × 2 connectors
		}
	}
	if !found {
		t.Error("the two connectors do not share the metrics")
	}
}
