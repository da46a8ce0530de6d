// Package fakeplatform is a local HTTP server that reproduces the
// platforms iwom's connectors read — the Sina Weibo Open API v2, the
// m.weibo.cn mobile JSON and the WeChat Official Account API — with their
// paths, parameters, JSON shapes, paging (since_id/max_id, pages,
// offsets), error bodies (error_code as a number and as a string), rate
// limits, token expiry, ok:0 pages, captcha answers and long-text stubs;
// and a client (Pusher) that plays WeChat's pushes to a receiver in plain,
// compatible and safe (AES) mode.
//
// Its data comes from the generator (pipeline/connectors/gen), so what a
// connector should deliver is known. Everything is served at the real
// paths, so a connector pointed at it needs only its base URL:
// URL()+"/2" for the Open API, URL() for m.weibo.cn and for WeChat.
package fakeplatform

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/synth"
)

// Defaults of Options.
const (
	DefaultWeiboToken   = "fake-weibo-access-token"
	DefaultWechatAppID  = "wx00000000fa4e0001"
	DefaultWechatSecret = "fake-wechat-app-secret-0000000001"
)

// RateLimit makes the platform refuse calls beyond Calls per window Per.
type RateLimit struct {
	Calls int
	Per   time.Duration
	// Code is the error answered: Weibo 10022/10023/10024 (default 10023),
	// WeChat 45009 (default) or 45011; m.weibo.cn answers a captcha.
	Code int
}

// Options configure a fake platform.
type Options struct {
	// The generator's options: what the platform holds.
	Count    int
	Seed     uint64
	Scenario string
	End      time.Time // default: Now() truncated to the minute
	Span     time.Duration
	// WatchList for the generator; nil is the embedded one.
	WatchList *brands.WatchList

	Listen string           // default 127.0.0.1:0
	Now    func() time.Time // the platform's clock; default time.Now

	WeiboToken     string     // the valid access_token
	WeiboRateLimit *RateLimit // per-user limit over every Open API call
	HotStatuses    int        // statuses that receive comments (default 3)
	CommentEvery   int        // every Nth Weibo post is a comment on a hot status (default 10; <0 none)

	MobileLimit   *RateLimit // m.weibo.cn: captcha / 418 answers beyond it
	EmptyEvery    int        // every Nth getIndex call answers ok:0 once (0 never)
	LongTextEvery int        // every Nth status is truncated with isLongText (default 5; <0 never)
	MobilePage    int        // mblogs per getIndex page (default 10)

	WechatAppID    string
	WechatSecret   string
	WechatTokenTTL time.Duration // default 2h (expires_in 7200)
	WechatQuota    *RateLimit    // 45009 (or Code) beyond it
	ArticleEvery   int           // every Nth WeChat post is an article (default 6)
	ReplyEvery     int           // every Nth comment has the account's reply (default 5; <0 none)
}

// Fault is a bad answer injected into the next call of a path.
type Fault int

// Faults.
const (
	FaultTruncated    Fault = iota + 1 // the JSON answer cut in the middle
	FaultHTML                          // a 502 HTML error page
	FaultWrongTypes                    // the item list has the wrong JSON type
	FaultMissing                       // the item list is missing
	FaultBadItem                       // the first item has a non-numeric id and no created_at
	FaultServerError                   // Weibo 10001 (numeric code), WeChat -1
	FaultServerString                  // Weibo 10002 with error_code as a string, WeChat -1
	FaultDrop                          // the connection closed without an answer
	FaultEmpty                         // m.weibo.cn ok:0
	FaultCaptcha                       // m.weibo.cn verification page
	FaultTeapot                        // m.weibo.cn HTTP 418
	FaultRateLimit                     // Weibo 10023, WeChat 45011
	FaultTokenExpired                  // Weibo 21327, WeChat 42001
	FaultTokenInvalid                  // Weibo 21332, WeChat 40001
	FaultQuota                         // WeChat 45009
)

// Server is a running fake platform.
type Server struct {
	opts  Options
	srv   *http.Server
	ln    net.Listener
	posts []*post.Post
	truth synth.Truth

	// Weibo.
	statuses []*status          // newest first
	byID     map[int64]*status  // statuses
	roots    map[int64]*root    // originals of reposts (not in the timeline)
	comments map[int64][]*wcomm // status id -> comments, newest first
	hot      []*status

	// WeChat.
	articles  []*article // newest first
	materials []*article
	byMsgData map[int64]*article
	pushes    []PushMessage

	mu           sync.Mutex
	cutoff       time.Time // items created after it are not served yet
	faults       map[string][]Fault
	calls        map[string]int
	errSeq       int
	weiboExpired bool
	weiboLimit   window
	mobileLimit  window
	wechatLimit  window
	mobileSeq    int
	tokens       map[string]time.Time // WeChat access tokens and their expiry
	tokenSeq     int
	tokenCalls   int
}

type window struct {
	start time.Time
	used  int
}

// allow counts a call against l and reports whether it is within it.
func (w *window) allow(l *RateLimit, now time.Time) bool {
	if l == nil {
		return true
	}
	if now.Sub(w.start) >= l.Per {
		w.start, w.used = now, 0
	}
	w.used++
	return w.used <= l.Calls
}

// New generates the data and starts serving.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.End.IsZero() {
		opts.End = opts.Now().Truncate(time.Minute)
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&opts.HotStatuses, 3)
	def(&opts.CommentEvery, 10)
	def(&opts.LongTextEvery, 5)
	def(&opts.MobilePage, 10)
	def(&opts.ArticleEvery, 6)
	def(&opts.ReplyEvery, 5)
	if opts.WeiboToken == "" {
		opts.WeiboToken = DefaultWeiboToken
	}
	if opts.WechatAppID == "" {
		opts.WechatAppID = DefaultWechatAppID
	}
	if opts.WechatSecret == "" {
		opts.WechatSecret = DefaultWechatSecret
	}
	if opts.WechatTokenTTL <= 0 {
		opts.WechatTokenTTL = 2 * time.Hour
	}
	wl := opts.WatchList
	if wl == nil {
		var err error
		if wl, err = brands.Load(""); err != nil {
			return nil, err
		}
	}
	g, err := synth.New(synth.Options{Count: opts.Count, Seed: opts.Seed, Scenario: opts.Scenario, End: opts.End, Span: opts.Span}, wl)
	if err != nil {
		return nil, fmt.Errorf("generating the platform's data: %w", err)
	}
	s := &Server{opts: opts, posts: g.All(), truth: g.Truth(), faults: map[string][]Fault{}, calls: map[string]int{}, tokens: map[string]time.Time{}}
	s.buildWeibo()
	s.buildWechat()
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opts.Listen, err)
	}
	s.ln = ln
	mux := http.NewServeMux()
	s.routesWeibo(mux)
	s.routesMobile(mux)
	s.routesWechat(mux)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// WeiboURL is the Open API base URL (the real one is https://api.weibo.com/2).
func (s *Server) WeiboURL() string { return s.URL() + "/2" }

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Posts are the generated posts the platform holds, in created_at order.
func (s *Server) Posts() []*post.Post { return s.posts }

// Truth is the generator's truth.
func (s *Server) Truth() synth.Truth { return s.truth }

// Reveal makes the oldest fraction f (0–1) of the posts visible; the rest
// appear as if written later. Everything is visible at first.
func (s *Server) Reveal(f float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch n := int(f * float64(len(s.posts))); {
	case n >= len(s.posts):
		s.cutoff = time.Time{}
	case n <= 0:
		s.cutoff = s.opts.End.Add(-100 * 365 * 24 * time.Hour)
	default:
		s.cutoff = s.posts[n-1].CreatedAt
	}
}

func (s *Server) visible(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cutoff.IsZero() || !t.After(s.cutoff)
}

// Inject makes the next calls of path (such as "/2/statuses/home_timeline.json",
// "/api/container/getIndex" or "/cgi-bin/freepublish/batchget") answer
// with faults, one per call, in order.
func (s *Server) Inject(path string, faults ...Fault) {
	s.mu.Lock()
	s.faults[path] = append(s.faults[path], faults...)
	s.mu.Unlock()
}

// Calls is how many times path was called.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// enter counts a call of path and returns its injected fault (0: none).
func (s *Server) enter(path string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[path]++
	q := s.faults[path]
	if len(q) == 0 {
		return 0
	}
	s.faults[path] = q[1:]
	return q[0]
}

// drop closes the connection without answering.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

const nginx502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Keys returns "<platform>:<id>" of posts, sorted.
func Keys(posts []*post.Post) []string {
	out := make([]string, len(posts))
	for i, p := range posts {
		out[i] = p.Key()
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func atoi64(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

var errNotFound = errors.New("not found")
