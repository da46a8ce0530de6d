package weibo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/connectors/kit/kittest"
	"github.com/iwom/iwom/test/fakeplatform"
)

type rig struct {
	fp    *fakeplatform.Server
	reg   *prometheus.Registry
	store *kit.MemStore
}

func newRig(t *testing.T, opts fakeplatform.Options) *rig {
	t.Helper()
	if opts.Count == 0 {
		opts.Count = 300
	}
	if opts.Seed == 0 {
		opts.Seed = 3
	}
	fp, err := fakeplatform.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fp.Close)
	return &rig{fp: fp, reg: prometheus.NewRegistry(), store: kit.NewMemStore()}
}

// config polls the home timeline, the hot statuses' comments and the
// main reposted originals, once, with millisecond back-offs.
func (r *rig) config(tweak func(*Config)) Config {
	cfg := DefaultConfig()
	cfg.Name = "wb-test"
	cfg.BaseURL = r.fp.WeiboURL()
	cfg.AccessToken = fakeplatform.DefaultWeiboToken
	cfg.CommentsOf = r.fp.HotStatusIDs()
	cfg.RepostsOf = r.fp.RootIDs()[:3]
	cfg.Once = true
	cfg.Count = 20
	cfg.Interval = 20 * time.Millisecond
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
	cfg.RetryMin, cfg.RetryMax = time.Millisecond, 10*time.Millisecond
	cfg.Retries = 10
	if tweak != nil {
		tweak(&cfg)
	}
	return cfg
}

func (r *rig) selection(cfg Config) fakeplatform.WeiboSelection {
	return fakeplatform.WeiboSelection{Home: cfg.HomeTimeline, Users: cfg.Users, Queries: cfg.Search, CommentsOf: cfg.CommentsOf, RepostsOf: cfg.RepostsOf}
}

func (r *rig) run(t *testing.T, cfg Config) (*kittest.Publisher, error) {
	t.Helper()
	c, err := New(cfg, kit.Env{Store: r.store, Metrics: kit.NewMetrics(r.reg), Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	pub := &kittest.Publisher{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pub, c.Run(ctx, pub)
}

func (r *rig) metric(name string, labels map[string]string) float64 {
	return kittest.Counter(r.reg, name, labels)
}

// TestDeliversWhatThePlatformHolds compares every published post, field
// by field, with what the platform serves.
func TestDeliversWhatThePlatformHolds(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(func(c *Config) {
		c.Users = r.fp.TopAuthors(2)
		c.Search = []string{"西门子"}
	})
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.WeiboPosts(r.selection(cfg))
	got := pub.ByKey()
	if len(got) != len(want) {
		t.Errorf("published %d posts, want %d", len(got), len(want))
	}
	comments, reposts := 0, 0
	for _, w := range want {
		g := got[w.Key()]
		if g == nil {
			t.Errorf("missing %s", w.Key())
			continue
		}
		if !equalPost(*g, *w) {
			t.Errorf("%s:\n got %+v\nwant %+v", w.Key(), *g, *w)
		}
		if w.Kind == "comment" {
			comments++
		}
		if w.RepostOf != "" {
			reposts++
		}
	}
	if comments == 0 || reposts == 0 {
		t.Errorf("the data has %d comments and %d reposts; want some of each", comments, reposts)
	}
	if n := r.metric("iwom_connector_fetched_total", map[string]string{"connector": "wb-test"}); n < float64(len(want)) {
		t.Errorf("fetched_total %v < %d", n, len(want))
	}
	if r.metric("iwom_connector_last_success_timestamp_seconds", nil) == 0 {
		t.Error("last success time not set")
	}
}

// TestNothingFetchedTwice polls a timeline that grows three times: each
// status is fetched once, and nothing is skipped.
func TestNothingFetchedTwice(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(func(c *Config) { c.CommentsOf, c.RepostsOf = nil, nil })
	total := 0
	seen := map[string]int{}
	for _, f := range []float64{0.3, 0.31, 0.7, 1} {
		r.fp.Reveal(f)
		pub, err := r.run(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pub.Posts() {
			seen[p.Key()]++
			total++
		}
	}
	want := r.fp.WeiboPosts(r.selection(cfg))
	if len(seen) != len(want) || total != len(want) {
		t.Errorf("%d posts published %d times; want %d once each", len(seen), total, len(want))
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s published %d times", k, n)
		}
	}
}

// TestPageBudget: a long-running poller fetches max_pages per cycle and
// catches up over the following cycles, without gaps.
func TestPageBudget(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(func(c *Config) {
		c.CommentsOf, c.RepostsOf = nil, nil
		c.Once = false
		c.MaxPages = 2
	})
	want := r.fp.WeiboPosts(r.selection(cfg))
	c, err := New(cfg, kit.Env{Store: r.store, Metrics: kit.NewMetrics(r.reg)})
	if err != nil {
		t.Fatal(err)
	}
	pub := &kittest.Publisher{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, pub) }()
	deadline := time.Now().Add(20 * time.Second)
	for len(pub.Keys()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Ready(); err != nil {
		t.Errorf("not ready while running: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v on a clean stop", err)
	}
	if got := len(pub.Keys()); got != len(want) {
		t.Fatalf("published %d distinct posts, want %d", got, len(want))
	}
	if n := r.fp.Calls("/2/statuses/home_timeline.json"); n < len(want)/20 {
		t.Errorf("only %d calls for %d posts in pages of 20", n, len(want))
	}
}

// TestRateLimitBackoffAndResume: past its quota the platform answers
// 10023 (as a number and as a string); the poller backs off and resumes.
func TestRateLimitBackoffAndResume(t *testing.T) {
	r := newRig(t, fakeplatform.Options{WeiboRateLimit: &fakeplatform.RateLimit{Calls: 3, Per: 250 * time.Millisecond}})
	cfg := r.config(nil)
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := fakeplatform.Keys(r.fp.WeiboPosts(r.selection(cfg)))
	if got := pub.Keys(); len(got) != len(want) {
		t.Errorf("published %d posts, want %d", len(got), len(want))
	}
	if n := r.metric("iwom_connector_errors_total", map[string]string{"kind": "rate_limit"}); n < 2 {
		t.Errorf("rate_limit errors %v, want several", n)
	}
	for _, src := range []string{SourceHome, SourceComments, SourceReposts} {
		if g := r.metric("iwom_connector_backoff_seconds", map[string]string{"source": src}); g != 0 {
			t.Errorf("back-off of %s still %v after resuming", src, g)
		}
	}
}

// TestIPAndAPIRateLimits: 10022 and 10024 back off like 10023.
func TestIPAndAPIRateLimits(t *testing.T) {
	for _, code := range []int{10022, 10024} {
		r := newRig(t, fakeplatform.Options{Count: 120, WeiboRateLimit: &fakeplatform.RateLimit{Calls: 2, Per: 30 * time.Millisecond, Code: code}})
		cfg := r.config(func(c *Config) { c.CommentsOf, c.RepostsOf = nil, nil })
		pub, err := r.run(t, cfg)
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		if got, want := len(pub.Keys()), len(r.fp.WeiboPosts(r.selection(cfg))); got != want {
			t.Errorf("%d: published %d, want %d", code, got, want)
		}
	}
}

// TestTokenErrorsStopAndReport: 21327/21332 stop every source; Run
// returns an error that says what to do, and the metrics show it.
func TestTokenErrorsStopAndReport(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*rig, *Config)
		code  string
	}{
		{"expired", func(r *rig, _ *Config) { r.fp.ExpireWeiboToken() }, "21327"},
		{"invalid", func(_ *rig, c *Config) { c.AccessToken = "wrong" }, "21332"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fakeplatform.Options{Count: 60})
			cfg := r.config(func(c *Config) { c.Once = false })
			tc.setup(r, &cfg)
			pub, err := r.run(t, cfg)
			if err == nil {
				t.Fatal("Run returned nil with a bad token")
			}
			if !strings.Contains(err.Error(), tc.code) || !strings.Contains(err.Error(), "access_token") {
				t.Errorf("error does not say what happened: %v", err)
			}
			if c, _ := kit.ClassOf(err); c != kit.Fatal {
				t.Errorf("class %v, want fatal", c)
			}
			if len(pub.Posts()) != 0 {
				t.Errorf("published %d posts", len(pub.Posts()))
			}
			if n := r.metric("iwom_connector_sources_stopped", nil); n != 3 {
				t.Errorf("sources_stopped %v, want 3", n)
			}
			if n := r.metric("iwom_connector_errors_total", map[string]string{"kind": "auth"}); n != 3 {
				t.Errorf("auth errors %v, want 3 (one per source, no retries)", n)
			}
		})
	}
}

// TestMalformedAnswers: truncated JSON, HTML error pages, wrong types,
// missing lists, system errors and dropped connections are counted and
// retried; a malformed status is dead-lettered and the rest delivered.
func TestMalformedAnswers(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(func(c *Config) { c.CommentsOf, c.RepostsOf = nil, nil })
	const path = "/2/statuses/home_timeline.json"
	r.fp.Inject(path, fakeplatform.FaultTruncated, fakeplatform.FaultHTML, fakeplatform.FaultWrongTypes,
		fakeplatform.FaultMissing, fakeplatform.FaultServerError, fakeplatform.FaultServerString, fakeplatform.FaultDrop,
		0, fakeplatform.FaultBadItem)
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.WeiboPosts(r.selection(cfg))
	if got := len(pub.Keys()); got != len(want)-1 {
		t.Errorf("published %d posts, want all but the malformed one (%d)", got, len(want)-1)
	}
	if rej := pub.Rejected(); len(rej) != 1 || !errors.Is(rej[0].Reason, ErrMalformed) {
		t.Errorf("rejected %v, want the malformed status", rej)
	}
	// Truncated, wrong types and missing list, plus the bad status; the
	// HTML page is an HTTP 502; 10001 and 10002 are platform errors.
	for kind, want := range map[string]float64{"malformed": 4, "http": 1, "platform": 2} {
		if got := r.metric("iwom_connector_errors_total", map[string]string{"kind": kind}); got != want {
			t.Errorf("errors{kind=%s} = %v, want %v", kind, got, want)
		}
	}
	// Go's transport may retry a GET whose reused connection was closed
	// before any answer; otherwise the drop is a network error.
	if got := r.metric("iwom_connector_errors_total", map[string]string{"kind": "network"}); got > 1 {
		t.Errorf("errors{kind=network} = %v, want at most 1", got)
	}
}

// TestPersistentFailureKeepsCursor: a page that stays broken makes the
// cycle fail (once: Run returns the error) without moving the cursor.
func TestPersistentFailureKeepsCursor(t *testing.T) {
	r := newRig(t, fakeplatform.Options{Count: 80})
	cfg := r.config(func(c *Config) { c.CommentsOf, c.RepostsOf, c.Retries = nil, nil, 2 })
	r.fp.Inject("/2/statuses/home_timeline.json", fakeplatform.FaultHTML, fakeplatform.FaultHTML)
	if _, err := r.run(t, cfg); err == nil || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("Run: %v, want a give-up error", err)
	}
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pub.Keys()), len(r.fp.WeiboPosts(r.selection(cfg))); got != want {
		t.Errorf("after the platform recovered: %d posts, want %d", got, want)
	}
}

// TestFollowPostsThatMatter: statuses with many comments found in the
// timeline get their comments polled.
func TestFollowPostsThatMatter(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(func(c *Config) {
		c.CommentsOf, c.RepostsOf = nil, nil
		c.FollowMinComments = 1
		c.FollowMax = 10000
	})
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.WeiboPosts(fakeplatform.WeiboSelection{Home: true, CommentsOf: r.fp.HotStatusIDs()})
	if got := len(pub.Keys()); got != len(want) {
		t.Errorf("published %d posts, want %d (timeline and the hot statuses' comments)", got, len(want))
	}
	var list []string
	found, err := r.store.Load(context.Background(), kit.Key("wb-test", "follow", SourceComments), &[]any{})
	if err != nil || !found {
		t.Errorf("followed posts not saved: %v %v", found, list)
	}
}

func TestValidate(t *testing.T) {
	for key, tweak := range map[string]func(*Config){
		"base_url":     func(c *Config) { c.BaseURL = "ftp://x" },
		"access_token": func(c *Config) { c.AccessToken = "" },
		"count":        func(c *Config) { c.Count = 101 },
		"users[0]":     func(c *Config) { c.Users = []string{"abc"} },
		"intervals.x":  func(c *Config) { c.Intervals = map[string]time.Duration{"x": time.Second} },
		"backoff_min":  func(c *Config) { c.BackoffMin = 0 },
		"home_timeline, users": func(c *Config) {
			c.HomeTimeline, c.CommentsOf, c.RepostsOf = false, nil, nil
		},
	} {
		cfg := DefaultConfig()
		cfg.Name, cfg.AccessToken = "x", "t"
		tweak(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), key) {
			t.Errorf("%s: got %v", key, err)
		}
	}
}
