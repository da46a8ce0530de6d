package wechatmp

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/connectors/kit/kittest"
	"github.com/iwom/iwom/pipeline/post"
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
		opts.Count = 500
	}
	opts.Seed = 11
	fp, err := fakeplatform.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fp.Close)
	return &rig{fp: fp, reg: prometheus.NewRegistry(), store: kit.NewMemStore()}
}

func (r *rig) config(tweak func(*Config)) Config {
	cfg := DefaultConfig()
	cfg.Name = "mp-test"
	cfg.BaseURL = r.fp.URL()
	cfg.AppID = fakeplatform.DefaultWechatAppID
	cfg.Secret = fakeplatform.DefaultWechatSecret
	cfg.Materials = true
	cfg.Once = true
	cfg.PageSize = 4
	cfg.CommentPage = 5
	cfg.BackoffMin, cfg.BackoffMax = 2*time.Millisecond, 20*time.Millisecond
	cfg.RetryMin, cfg.RetryMax = time.Millisecond, 5*time.Millisecond
	cfg.Retries = 10
	cfg.QuotaPause = 20 * time.Millisecond
	if tweak != nil {
		tweak(&cfg)
	}
	return cfg
}

func (r *rig) connector(t *testing.T, cfg Config) *Connector {
	t.Helper()
	c, err := New(cfg, kit.Env{Store: r.store, Metrics: kit.NewMetrics(r.reg), Limits: post.Limits{MaxTextBytes: 65536},
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *rig) run(t *testing.T, c *Connector) (*kittest.Publisher, error) {
	t.Helper()
	pub := &kittest.Publisher{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pub, c.Run(ctx, pub)
}

func (r *rig) errors(kind string) float64 {
	return kittest.Counter(r.reg, "iwom_connector_errors_total", map[string]string{"kind": kind})
}

// TestArticlesAndComments: every article (published and material),
// comment and account reply becomes a post, linked by reply_to.
func TestArticlesAndComments(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	pub, err := r.run(t, r.connector(t, r.config(nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.WechatMPPosts(true)
	got := pub.ByKey()
	if len(got) != len(want) {
		t.Errorf("published %d posts, want %d", len(got), len(want))
	}
	texts := map[string]bool{}
	for _, p := range r.fp.Posts() {
		if p.Platform == "wechat" {
			texts[p.Text] = true
		}
	}
	kinds := map[string]int{}
	for _, k := range want {
		p := got[k]
		if p == nil {
			t.Errorf("missing %s", k)
			continue
		}
		kinds[p.Kind]++
		switch {
		case p.Kind == "article":
			title, body, _ := strings.Cut(p.Text, "\n")
			if !texts[body] || !strings.HasPrefix(body, title) || p.URL == "" || p.Author.ID != fakeplatform.DefaultWechatAppID {
				t.Errorf("article %s: %+v", k, p)
			}
		case strings.HasSuffix(p.ID, "-reply"):
			if p.ReplyTo != strings.TrimSuffix(p.ID, "-reply") || p.Author.ID != fakeplatform.DefaultWechatAppID {
				t.Errorf("reply %s: %+v", k, p)
			}
		default:
			if !texts[p.Text] || got["wechat:"+p.ReplyTo] == nil || got["wechat:"+p.ReplyTo].Kind != "article" || p.Author.ID == "" {
				t.Errorf("comment %s: %+v", k, p)
			}
		}
	}
	if kinds["article"] == 0 || kinds["comment"] == 0 {
		t.Errorf("kinds %v", kinds)
	}
}

// TestTokenRefresh: an expired (42001) or invalidated (40001/40014) token
// is renewed once and the call retried; the poller also renews a token
// before it expires.
func TestTokenRefresh(t *testing.T) {
	r := newRig(t, fakeplatform.Options{WechatTokenTTL: time.Second})
	c := r.connector(t, r.config(func(c *Config) { c.RefreshBefore = 500 * time.Millisecond }))
	r.fp.Inject("/cgi-bin/freepublish/batchget", 0, fakeplatform.FaultTokenExpired)
	r.fp.Inject("/cgi-bin/comment/list", 0, fakeplatform.FaultTokenInvalid)
	pub, err := r.run(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pub.Keys()), len(r.fp.WechatMPPosts(true)); got != want {
		t.Errorf("published %d posts, want %d", got, want)
	}
	if n := r.fp.WechatTokenCalls(); n < 3 {
		t.Errorf("%d tokens fetched, want a first one and a renewal per refused token", n)
	}
	if n := r.errors("token"); n != 2 {
		t.Errorf("token errors %v, want 2", n)
	}
	// A token close to expiry is renewed before use.
	before := r.fp.WechatTokenCalls()
	time.Sleep(600 * time.Millisecond) // past half of the 1 s life
	if _, err := c.tokens.get(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if r.fp.WechatTokenCalls() != before+1 {
		t.Error("a token past its renewal time was not renewed")
	}
}

// TestOneRefreshAtATime: many goroutines finding the token bad make one
// refresh, not one each.
func TestOneRefreshAtATime(t *testing.T) {
	r := newRig(t, fakeplatform.Options{Count: 10})
	c := r.connector(t, r.config(nil))
	tok, err := c.tokens.get(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	r.fp.ExpireWechatTokens()
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = c.tokens.get(context.Background(), tok)
		}()
	}
	wg.Wait()
	if n := r.fp.WechatTokenCalls(); n != 2 {
		t.Errorf("%d token calls, want 2 (the first and one refresh)", n)
	}
	for _, g := range got {
		if g == "" || g == tok || g != got[0] {
			t.Fatalf("goroutines got tokens %v", got)
		}
	}
}

// TestDailyQuotaPauses: 45009 pauses the poller until the quota resets,
// then it resumes; 45011 backs off.
func TestDailyQuotaPauses(t *testing.T) {
	r := newRig(t, fakeplatform.Options{WechatQuota: &fakeplatform.RateLimit{Calls: 6, Per: 250 * time.Millisecond}})
	r.fp.Inject("/cgi-bin/comment/list", fakeplatform.FaultRateLimit)
	pub, err := r.run(t, r.connector(t, r.config(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pub.Keys()), len(r.fp.WechatMPPosts(true)); got != want {
		t.Errorf("published %d posts, want %d", got, want)
	}
	if r.errors("quota") == 0 || r.errors("rate_limit") != 1 {
		t.Errorf("quota errors %v, rate_limit %v", r.errors("quota"), r.errors("rate_limit"))
	}
}

func TestQuotaResetIsMidnightInBeijing(t *testing.T) {
	r := newRig(t, fakeplatform.Options{Count: 10})
	cfg := r.config(func(c *Config) { c.QuotaPause = 0 })
	c, err := New(cfg, kit.Env{Now: func() time.Time { return time.Date(2026, 6, 28, 17, 30, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	// 17:30 UTC is 01:30 on the 29th in Beijing: the reset is the 30th.
	if got, want := c.quotaReset(), time.Date(2026, 6, 29, 16, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("quota reset %v, want %v", got, want)
	}
}

// TestBadCredentialsStop: a wrong secret stops the poller with an error
// that says what to check.
func TestBadCredentialsStop(t *testing.T) {
	r := newRig(t, fakeplatform.Options{Count: 10})
	c := r.connector(t, r.config(func(c *Config) { c.Secret = "wrong"; c.Once = false }))
	pub, err := r.run(t, c)
	if err == nil || !strings.Contains(err.Error(), "40125") || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("Run: %v", err)
	}
	if len(pub.Posts()) != 0 {
		t.Error("published with bad credentials")
	}
	if n := kittest.Counter(r.reg, "iwom_connector_sources_stopped", nil); n != 2 {
		t.Errorf("sources stopped %v, want 2", n)
	}
}

// TestMalformedAnswers: broken answers are counted and retried, a broken
// item dead-lettered.
func TestMalformedAnswers(t *testing.T) {
	r := newRig(t, fakeplatform.Options{})
	for _, path := range []string{"/cgi-bin/freepublish/batchget", "/cgi-bin/comment/list"} {
		r.fp.Inject(path, fakeplatform.FaultTruncated, fakeplatform.FaultHTML, fakeplatform.FaultWrongTypes,
			fakeplatform.FaultMissing, fakeplatform.FaultDrop, fakeplatform.FaultServerError)
	}
	r.fp.Inject("/cgi-bin/token", fakeplatform.FaultTruncated, fakeplatform.FaultHTML)
	r.fp.Inject("/cgi-bin/material/batchget_material", fakeplatform.FaultBadItem)
	pub, err := r.run(t, r.connector(t, r.config(nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := r.fp.WechatMPPosts(true)
	// The damaged material and its comments are lost to the dead letters.
	if got := len(pub.Keys()); got >= len(want) || got < len(want)*3/4 {
		t.Errorf("published %d posts of %d", got, len(want))
	}
	if rej := pub.Rejected(); len(rej) != 1 {
		t.Errorf("rejected %d items, want 1", len(rej))
	}
	if n := r.errors("malformed"); n < 6 {
		t.Errorf("malformed errors %v", n)
	}
	if n := r.errors("platform"); n != 2 {
		t.Errorf("platform errors %v, want 2 (-1 twice)", n)
	}
}

func TestArticleText(t *testing.T) {
	html := `<section><h1>标题</h1><p>第一段&amp;更多</p><p><img src="x.jpg" alt=""></p><p>  第二段 </p></section>`
	if got := ArticleText("标题", "摘要", html, 0); got != "标题\n标题 第一段&更多 第二段" {
		t.Errorf("ArticleText = %q", got)
	}
	if got := ArticleText("标题", "摘要", "", 0); got != "标题\n摘要" {
		t.Errorf("without content: %q", got)
	}
	if got := ArticleText("标题", "", "汉字汉字", 10); got != "标题\n汉" {
		t.Errorf("cut to 10 bytes: %q", got)
	}
}
