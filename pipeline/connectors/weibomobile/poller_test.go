package weibomobile

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
	start time.Time
	base  time.Time
}

// now is the clock of the platform and the connector: a fixed morning,
// moving at the speed of the test.
func (r *rig) now() time.Time { return r.base.Add(time.Since(r.start)) }

func newRig(t *testing.T, opts fakeplatform.Options) *rig {
	t.Helper()
	r := &rig{reg: prometheus.NewRegistry(), store: kit.NewMemStore(), start: time.Now(), base: time.Date(2026, 6, 28, 10, 30, 0, 0, Shanghai)}
	if opts.Count == 0 {
		opts.Count = 400
	}
	opts.Seed = 5
	opts.Span = 72 * time.Hour // relative dates of every kind
	opts.Now = r.now
	fp, err := fakeplatform.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fp.Close)
	r.fp = fp
	return r
}

func (r *rig) config(tweak func(*Config)) Config {
	cfg := DefaultConfig()
	cfg.Name = "wbm-test"
	cfg.BaseURL = r.fp.URL()
	cfg.Users = r.fp.TopAuthors(4)
	cfg.Search = []string{"西门子"}
	cfg.Once = true
	cfg.BackoffMin, cfg.BackoffMax = 2*time.Millisecond, 20*time.Millisecond
	cfg.RetryMin, cfg.RetryMax = time.Millisecond, 5*time.Millisecond
	cfg.Retries = 10
	if tweak != nil {
		tweak(&cfg)
	}
	return cfg
}

func (r *rig) run(t *testing.T, cfg Config) (*kittest.Publisher, error) {
	t.Helper()
	c, err := New(cfg, kit.Env{Store: r.store, Metrics: kit.NewMetrics(r.reg), Now: r.now,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
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

// TestDeliversCleanText: every status of the users and the search comes
// out with the text it was written with (hashtags, mentions, emoticons,
// links, long texts fetched whole), its author, its repost and a date
// within the precision of the mobile site's relative forms.
func TestDeliversCleanText(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(nil)
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.MobilePosts(fakeplatform.MobileSelection{Users: cfg.Users, Queries: cfg.Search})
	got := pub.ByKey()
	if len(got) != len(want) {
		t.Errorf("published %d posts, want %d", len(got), len(want))
	}
	var links, emoticons, topics, mentions, reposts int
	for _, w := range want {
		g := got[w.Key()]
		if g == nil {
			t.Errorf("missing %s", w.Key())
			continue
		}
		if g.Text != w.Text {
			t.Errorf("%s: text %q, want %q", w.Key(), g.Text, w.Text)
		}
		if g.Author.ID != w.Author.ID || g.Author.Name != w.Author.Name || g.RepostOf != w.RepostOf || g.URL != w.URL {
			t.Errorf("%s: author/repost/url %+v %q %q, want %+v %q %q", w.Key(), g.Author, g.RepostOf, g.URL, w.Author, w.RepostOf, w.URL)
		}
		// "N小时前" is N whole hours ago (up to an hour late); "MM-DD" is
		// the start of the day.
		if d := w.CreatedAt.Sub(g.CreatedAt); d < -time.Hour || d > 24*time.Hour {
			t.Errorf("%s: created_at %v, want about %v", w.Key(), g.CreatedAt, w.CreatedAt)
		}
		approx := func(got, want int64) bool {
			return got <= want && (want < 10_000 || got*100 >= want*90 || want >= 1_000_000)
		}
		if !approx(g.Metrics.Likes, w.Metrics.Likes) || !approx(g.Author.Followers, w.Author.Followers) {
			t.Errorf("%s: counts %+v / %d, want about %+v / %d", w.Key(), g.Metrics, g.Author.Followers, w.Metrics, w.Author.Followers)
		}
		links += strings.Count(w.Text, "http://t.cn/")
		emoticons += strings.Count(w.Text, "[")
		topics += strings.Count(w.Text, "#") / 2
		mentions += strings.Count(w.Text, "@")
		if w.RepostOf != "" {
			reposts++
		}
	}
	if links == 0 || emoticons == 0 || topics == 0 || mentions == 0 || reposts == 0 {
		t.Errorf("the data lacks variety: %d links, %d emoticons, %d topics, %d mentions, %d reposts", links, emoticons, topics, mentions, reposts)
	}
	if n := r.fp.Calls("/statuses/extend"); n == 0 {
		t.Error("no long text was fetched")
	}
}

// TestEmptyPagesAndCaptcha: ok:0 answers for pages that exist are asked
// again; captcha pages, ok:-100 and 418 make the poller back off and
// resume; all are counted.
func TestEmptyPagesAndCaptcha(t *testing.T) {
	r := newRig(t, fakeplatform.Options{EmptyEvery: 4, MobileLimit: &fakeplatform.RateLimit{Calls: 3, Per: 250 * time.Millisecond}})
	cfg := r.config(func(c *Config) { c.EmptyRetries = 3 })
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.MobilePosts(fakeplatform.MobileSelection{Users: cfg.Users, Queries: cfg.Search})
	if got := len(pub.Keys()); got != len(want) {
		t.Errorf("published %d posts, want %d", got, len(want))
	}
	for _, kind := range []string{"empty", "captcha", "rate_limit"} {
		if n := r.metric("iwom_connector_errors_total", map[string]string{"kind": kind}); n == 0 {
			t.Errorf("no %s errors counted", kind)
		}
	}
}

// TestMalformedAnswers: broken answers are counted and retried; a broken
// mblog is dead-lettered.
func TestMalformedAnswers(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(func(c *Config) { c.Search = nil })
	r.fp.Inject("/api/container/getIndex", fakeplatform.FaultTruncated, fakeplatform.FaultHTML, fakeplatform.FaultWrongTypes,
		fakeplatform.FaultMissing, fakeplatform.FaultDrop, fakeplatform.FaultCaptcha, fakeplatform.FaultTeapot, 0, fakeplatform.FaultBadItem)
	r.fp.Inject("/statuses/extend", fakeplatform.FaultTruncated)
	pub, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.MobilePosts(fakeplatform.MobileSelection{Users: cfg.Users})
	if got := len(pub.Keys()); got < len(want)-1 {
		t.Errorf("published %d posts, want at least %d", got, len(want)-1)
	}
	if rej := pub.Rejected(); len(rej) != 1 || !errors.Is(rej[0].Reason, ErrMalformed) {
		t.Errorf("rejected %v, want one malformed mblog", rej)
	}
	if n := r.metric("iwom_connector_errors_total", map[string]string{"kind": "malformed"}); n < 4 {
		t.Errorf("malformed errors %v, want at least 4", n)
	}
}

// TestResumesAcrossRuns: new statuses are found on the next run, old
// ones are not fetched again.
func TestResumesAcrossRuns(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	cfg := r.config(nil)
	seen := map[string]int{}
	for _, f := range []float64{0.4, 0.8, 1} {
		r.fp.Reveal(f)
		pub, err := r.run(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pub.Posts() {
			seen[p.Key()]++
		}
	}
	want := r.fp.MobilePosts(fakeplatform.MobileSelection{Users: cfg.Users, Queries: cfg.Search})
	if len(seen) != len(want) {
		t.Errorf("%d distinct posts, want %d", len(seen), len(want))
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s published %d times", k, n)
		}
	}
}
