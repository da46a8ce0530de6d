package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
	"github.com/iwom/iwom/test/chserver"
)

var conn driver.Conn

const db = "api_test"

var hour0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iwom-ch-api-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv, err := chserver.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting ClickHouse:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := 1
	if err := setup(srv.Addr()); err != nil {
		fmt.Fprintln(os.Stderr, "loading posts:", err)
	} else {
		code = m.Run()
	}
	srv.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup stores 60 posts about siemens, 20 of them negative, over 3 hours.
func setup(addr string) error {
	ctx := context.Background()
	cfg := config.Default().ClickHouse
	cfg.Addr = addr
	var err error
	if conn, err = chsink.Open(cfg); err != nil {
		return err
	}
	if _, err := chsink.Migrate(ctx, conn, db, zerolog.Nop()); err != nil {
		return err
	}
	var rows []*post.Enriched
	var ts []time.Time
	for i := 0; i < 60; i++ {
		label := []string{post.Positive, post.Neutral, post.Negative}[i%3]
		at := hour0.Add(time.Duration(i*3) * time.Minute)
		rows = append(rows, &post.Enriched{
			Post: post.Post{Platform: "weibo", ID: fmt.Sprint(4900000000 + i), Text: "西门子冰箱门", CreatedAt: at, IngestedAt: at,
				URL: fmt.Sprintf("https://weibo.com/u/%d", i), Author: post.Author{ID: fmt.Sprint("u", i%7), Followers: int64(i * 10)},
				Metrics: post.Metrics{Reposts: int64(i)}},
			Keywords: []string{"冰箱门"}, Hashtags: []string{"西门子冰箱门"}, Brands: []string{"siemens"},
			Sentiment: post.Sentiment{Label: label}, EnrichedAt: at,
		})
		ts = append(ts, at)
	}
	_ = ts
	// New posts: the rollups fill through the materialized views.
	_, err = chsink.NewWriter(conn, db).Insert(ctx, rows)
	return err
}

func newServer(t *testing.T, tokens []string, timeout time.Duration) (*Server, *httptest.Server) {
	t.Helper()
	e := &report.Engine{Conn: conn, DB: db, Now: func() time.Time { return hour0.Add(3 * time.Hour) }}
	s := New(e, tokens, timeout, 2, prometheus.NewRegistry(), conn.Ping, zerolog.New(zerolog.NewTestWriter(t)))
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

func get(t *testing.T, hs *httptest.Server, path string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, hs.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestReportJSON(t *testing.T) {
	_, hs := newServer(t, nil, 10*time.Second)
	code, body, h := get(t, hs, "/v1/reports/sentiment?brand=siemens&since=3h&interval=hour")
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", code, body)
	}
	var doc struct {
		Report  string           `json:"report"`
		Params  map[string]any   `json:"params"`
		Columns []string         `json:"columns"`
		Rows    []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Report != "sentiment" || len(doc.Rows) != 3 {
		t.Fatalf("%s", body)
	}
	var pos, neu, neg float64
	for _, r := range doc.Rows {
		pos += r["positive"].(float64)
		neu += r["neutral"].(float64)
		neg += r["negative"].(float64)
	}
	if pos != 20 || neu != 20 || neg != 20 {
		t.Errorf("positive %v neutral %v negative %v, want 20 each: %s", pos, neu, neg, body)
	}
	code, body, h = get(t, hs, "/v1/reports/volume?brand=siemens&since=3h&format=csv")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.HasPrefix(body, "bucket,brand,platform,posts,reach,engagement\n") {
		t.Errorf("csv: %d %s %s", code, h.Get("Content-Type"), body)
	}
	code, body, _ = get(t, hs, "/v1/reports")
	if code != 200 || !strings.Contains(body, `"name":"top-posts"`) {
		t.Errorf("list: %d %s", code, body)
	}
}

func TestErrorsAndStatusCodes(t *testing.T) {
	_, hs := newServer(t, nil, 10*time.Second)
	for path, want := range map[string]int{
		"/v1/reports/nope":                  404,
		"/v1/reports/volume?interval=week":  400,
		"/v1/reports/volume?from=yesterday": 400,
		"/v1/reports/volume?tz=Mars/Base":   400,
		"/v1/reports/kols?limit=0":          400,
		"/v1/reports/volume?drop=table":     400,
		"/v1/nothing":                       404,
		"/healthz":                          200,
		"/readyz":                           200,
	} {
		if code, body, _ := get(t, hs, path); code != want {
			t.Errorf("%s: %d %s, want %d", path, code, body, want)
		} else if want == 400 && !strings.Contains(body, `"error":"bad parameter`) {
			t.Errorf("%s: %s", path, body)
		}
	}
}

// Hostile values are bound parameters: they match nothing (or fail an
// allow-list) and the data is intact.
func TestInjectionOverHTTP(t *testing.T) {
	_, hs := newServer(t, nil, 10*time.Second)
	for _, h := range []string{`'; DROP TABLE api_test.posts_store --`, `siemens' OR 1=1 --`, `siemens\' OR 1=1 --`, "siemens\u2019 OR 1=1", `x") UNION ALL SELECT name FROM system.tables --`} {
		for _, name := range []string{"volume", "sov", "sentiment", "keywords", "kols", "top-posts", "spikes"} {
			code, body, _ := get(t, hs, "/v1/reports/"+name+"?since=3h&brand="+url.QueryEscape(h))
			if code != 200 {
				t.Fatalf("%s brand=%q: %d %s", name, h, code, body)
			}
			var doc struct{ Rows []map[string]any }
			_ = json.Unmarshal([]byte(body), &doc)
			for _, r := range doc.Rows {
				if n, _ := r["posts"].(float64); n != 0 {
					t.Errorf("%s brand=%q matched posts: %v", name, h, r)
				}
			}
			if code, _, _ := get(t, hs, "/v1/reports/"+name+"?since=3h&interval="+url.QueryEscape(h)); code != 400 {
				t.Errorf("%s interval=%q: %d, want 400", name, h, code)
			}
		}
	}
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM api_test.posts").Scan(&n); err != nil || n != 60 {
		t.Errorf("posts: %d %v", n, err)
	}
}

func TestBearerTokens(t *testing.T) {
	tok := "s3cret-token-0123456789"
	_, hs := newServer(t, []string{"another-token-0123456789", tok}, 10*time.Second)
	if code, _, h := get(t, hs, "/v1/reports/volume?since=3h"); code != 401 || h.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d", code)
	}
	if code, _, _ := get(t, hs, "/v1/reports/volume?since=3h", "Authorization", "Bearer wrong-token-0123456789"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code, body, _ := get(t, hs, "/v1/reports/volume?since=3h", "Authorization", "Bearer "+tok); code != 200 {
		t.Errorf("right token: %d %s", code, body)
	}
	for _, open := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _, _ := get(t, hs, open); code != 200 {
			t.Errorf("%s needs no token: %d", open, code)
		}
	}
}

func TestTimeoutAndMetrics(t *testing.T) {
	_, hs := newServer(t, nil, time.Nanosecond)
	code, body, _ := get(t, hs, "/v1/reports/volume?since=3h")
	if code != http.StatusGatewayTimeout && code != http.StatusServiceUnavailable {
		t.Errorf("a report past its timeout: %d %s", code, body)
	}
	_, hs = newServer(t, nil, 10*time.Second)
	get(t, hs, "/v1/reports/volume?since=3h")
	get(t, hs, "/v1/reports/volume?interval=no")
	_, m, _ := get(t, hs, "/metrics")
	for _, want := range []string{`iwom_api_requests_total{code="200",report="volume"} 1`, `iwom_api_requests_total{code="400",report="volume"} 1`, "iwom_api_request_seconds_bucket"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestReadyzWhenClickHouseIsDown(t *testing.T) {
	cfg := config.Default().ClickHouse
	cfg.Addr, cfg.DialTimeout = "127.0.0.1:1", 200*time.Millisecond
	down, err := chsink.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	e := &report.Engine{Conn: down, DB: db}
	s := New(e, nil, 2*time.Second, 2, prometheus.NewRegistry(), down.Ping, zerolog.Nop())
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	if code, _, _ := get(t, hs, "/readyz"); code != 503 {
		t.Errorf("readyz: %d", code)
	}
	if code, body, _ := get(t, hs, "/v1/reports/volume"); code != 503 || !strings.Contains(body, "unavailable") {
		t.Errorf("report: %d %s", code, body)
	}
}

func TestServeShutsDown(t *testing.T) {
	s, _ := newServer(t, nil, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, "127.0.0.1:0", func(a net.Addr) { addr <- a.String() })
	}()
	a := <-addr
	resp, err := http.Get("http://" + a + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Error(err)
	}
}

// The api section is validated with the key named, and its secrets are
// secrets.
func TestAPIConfig(t *testing.T) {
	for yaml, key := range map[string]string{
		"api:\n  tokens: short\n":              "api.tokens",
		"api:\n  query_timeout: 1ms\n":         "api.query_timeout",
		"api:\n  clickhouse_password: x\n":     "api.clickhouse_user",
		"api:\n  max_concurrent: 0\n":          "api.max_concurrent",
		"api:\n  listen: \"\"\n":               "api.listen",
		"api:\n  tokns: aaaaaaaaaaaaaaaaaaa\n": `unknown key "api.tokns"`,
	} {
		f := t.TempDir() + "/c.yaml"
		if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(f); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
	t.Setenv("IWOM_API_TOKENS", "token-one-0123456789, token-two-0123456789")
	t.Setenv("IWOM_API_CLICKHOUSE_USER", "reader")
	t.Setenv("IWOM_API_CLICKHOUSE_PASSWORD", "reader-secret")
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.API.TokenList(); len(got) != 2 || got[1] != "token-two-0123456789" {
		t.Errorf("tokens %q", got)
	}
	if ch := c.APIClickHouse(); ch.User != "reader" || ch.Password != "reader-secret" || c.ClickHouse.User == "reader" {
		t.Errorf("API ClickHouse config %+v", ch)
	}
	secrets := strings.Join(c.Secrets(), " ")
	for _, s := range []string{"token-one-0123456789", "reader-secret"} {
		if !strings.Contains(secrets, s) {
			t.Errorf("%s is not among the secrets", s)
		}
	}
}

// TestTopPostsTerm: the term filter reads the posts, not the rollup, and
// must agree with it when every post has the term.
func TestTopPostsTerm(t *testing.T) {
	_, hs := newServer(t, nil, 10*time.Second)
	rows := func(path string) []map[string]any {
		t.Helper()
		code, body, _ := get(t, hs, path)
		var doc struct{ Rows []map[string]any }
		if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		return doc.Rows
	}
	base := "/v1/reports/top-posts?brand=siemens&since=3h&limit=5"
	all := rows(base)
	for _, term := range []string{"冰箱门", url.QueryEscape("#西门子冰箱门#")} {
		if got := rows(base + "&term=" + term); fmt.Sprint(got) != fmt.Sprint(all) || len(got) != 5 {
			t.Errorf("term %s: %v\nwant %v", term, got, all)
		}
	}
	if got := rows(base + "&term=冰箱"); len(got) != 0 {
		t.Errorf("a term matches whole terms only: %v", got)
	}
	neg := rows(base + "&term=冰箱门&label=negative&sort=engagement")
	if want := rows(base + "&label=negative&sort=engagement"); len(neg) != 5 || neg[0]["label"] != "negative" || fmt.Sprint(neg) != fmt.Sprint(want) {
		t.Errorf("negative: %v\nwant %v", neg, want)
	}
	// Ties (no comments at all) fall back to platform and id, as in the rollup.
	if got, want := rows(base+"&term=冰箱门&sort=comments"), rows(base+"&sort=comments"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ties: %v\nwant %v", got, want)
	}
}
