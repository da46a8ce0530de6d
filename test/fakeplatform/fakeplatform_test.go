package fakeplatform

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Count == 0 {
		opts.Count = 200
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: not JSON: %s", u, data)
	}
	return resp.StatusCode, m
}

func ids(m map[string]any, list string) []int64 {
	var out []int64
	items, _ := m[list].([]any)
	for _, it := range items {
		out = append(out, int64(it.(map[string]any)["id"].(float64)))
	}
	return out
}

// TestSinceMaxID: since_id returns newer ids only, max_id ids at or below
// it, newest first, count per page.
func TestSinceMaxID(t *testing.T) {
	s := newServer(t, Options{})
	base := s.WeiboURL() + "/statuses/home_timeline.json?access_token=" + DefaultWeiboToken
	_, all := get(t, base+"&count=100")
	first := ids(all, "statuses")
	if len(first) != 100 || int(all["total_number"].(float64)) != len(s.statuses) {
		t.Fatalf("first page: %d statuses, total %v", len(first), all["total_number"])
	}
	for i := 1; i < len(first); i++ {
		if first[i] >= first[i-1] {
			t.Fatal("not newest first")
		}
	}
	_, m := get(t, base+"&count=5&max_id="+strconv.FormatInt(first[10], 10))
	if got := ids(m, "statuses"); got[0] != first[10] || len(got) != 5 {
		t.Errorf("max_id: %v", got)
	}
	_, m = get(t, base+"&count=100&since_id="+strconv.FormatInt(first[3], 10))
	if got := ids(m, "statuses"); len(got) != 3 || got[2] != first[2] {
		t.Errorf("since_id: %v", got)
	}
}

// TestErrorForms: error_code comes as a number and as a string.
func TestErrorForms(t *testing.T) {
	s := newServer(t, Options{})
	forms := map[string]bool{}
	for range 4 {
		status, m := get(t, s.WeiboURL()+"/statuses/home_timeline.json?access_token=wrong")
		if status < 400 || m["request"] != "/2/statuses/home_timeline.json" {
			t.Errorf("%d %v", status, m)
		}
		switch m["error_code"].(type) {
		case float64:
			forms["number"] = true
		case string:
			forms["string"] = true
		}
	}
	if !forms["number"] || !forms["string"] {
		t.Errorf("error_code forms seen: %v", forms)
	}
}

func TestRateLimitWindow(t *testing.T) {
	// A window long enough that three calls fit in it on a loaded machine.
	s := newServer(t, Options{WeiboRateLimit: &RateLimit{Calls: 2, Per: 500 * time.Millisecond}})
	u := s.WeiboURL() + "/statuses/home_timeline.json?count=1&access_token=" + DefaultWeiboToken
	codes := []int{}
	for range 3 {
		status, _ := get(t, u)
		codes = append(codes, status)
	}
	time.Sleep(550 * time.Millisecond)
	status, _ := get(t, u)
	codes = append(codes, status)
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 403 || codes[3] != 200 {
		t.Errorf("statuses %v, want 200 200 403 200", codes)
	}
}

func TestMobileRendering(t *testing.T) {
	for in, want := range map[string]string{
		"#西门子冰箱# 好用[赞] @小王子1 http://t.cn/Abc": `<span class="surl-text">#西门子冰箱#</span>`,
		"转发微博//@阿花:不错":                        `//<a href='/n/阿花'>@阿花</a>:不错`,
		"a<b&c":                               "a&lt;b&amp;c",
	} {
		if got := renderHTML(in); !strings.Contains(got, want) {
			t.Errorf("renderHTML(%q) = %s", in, got)
		}
	}
	for n, want := range map[int64]any{12: int64(12), 13: "13", 35_000: "3.5万", 2_000_000: "100万+", 120_000_000: "1.2亿"} {
		if got := countValue(n, int(n%2)); got != want {
			t.Errorf("countValue(%d) = %v, want %v", n, got, want)
		}
	}
	now := time.Date(2026, 6, 28, 10, 30, 0, 0, cst)
	for at, want := range map[time.Time]string{
		now.Add(-20 * time.Second):                    "刚刚",
		now.Add(-15 * time.Minute):                    "15分钟前",
		now.Add(-5 * time.Hour):                       "5小时前",
		time.Date(2026, 6, 27, 8, 5, 0, 0, cst):       "昨天 08:05",
		time.Date(2026, 3, 1, 8, 5, 0, 0, cst):        "03-01",
		time.Date(2025, 12, 31, 8, 5, 0, 0, cst):      "2025-12-31",
		time.Date(2026, 6, 28, 10, 0, 0, 0, time.UTC): "Sun Jun 28 18:00:00 +0800 2026",
	} {
		i := 0
		if strings.Contains(want, "+0800") {
			i = 3
		}
		if got := relDate(at, now, i); got != want {
			t.Errorf("relDate(%v) = %q, want %q", at, got, want)
		}
	}
	// A mid and the base62 id of its weibo.com URL.
	if got := bid(3_501_756_485_200_075); got != "z0JH2lOMb" {
		t.Errorf("bid = %s, want z0JH2lOMb", got)
	}
}

func TestWechatToken(t *testing.T) {
	s := newServer(t, Options{WechatTokenTTL: time.Minute})
	q := url.Values{"grant_type": {"client_credential"}, "appid": {DefaultWechatAppID}, "secret": {"nope"}}
	if _, m := get(t, s.URL()+"/cgi-bin/token?"+q.Encode()); m["errcode"].(float64) != 40125 {
		t.Errorf("wrong secret: %v", m)
	}
	q.Set("secret", DefaultWechatSecret)
	_, m := get(t, s.URL()+"/cgi-bin/token?"+q.Encode())
	tok, _ := m["access_token"].(string)
	if tok == "" || m["expires_in"].(float64) != 60 {
		t.Fatalf("token answer %v", m)
	}
	post := func(tok string) map[string]any {
		resp, err := http.Post(s.URL()+"/cgi-bin/freepublish/batchget?access_token="+tok, "application/json", strings.NewReader(`{"offset":0,"count":2,"no_content":1}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	if m := post(tok); m["item_count"].(float64) != 2 {
		t.Errorf("batchget: %v", m)
	}
	s.ExpireWechatTokens()
	if m := post(tok); m["errcode"].(float64) != 42001 {
		t.Errorf("expired token: %v", m)
	}
	if m := post("nope"); m["errcode"].(float64) != 40001 {
		t.Errorf("unknown token: %v", m)
	}
}

// TestPusherVerify: the pusher's signatures are WeChat's (checked by a
// tiny receiver here; the connector's tests check the rest).
func TestPusherVerify(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("signature") != sign(PushToken, q.Get("timestamp"), q.Get("nonce")) {
			w.WriteHeader(403)
			return
		}
		_, _ = io.WriteString(w, q.Get("echostr"))
	})}
	s := newServer(t, Options{Count: 10})
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l2) }()
	defer srv.Close()
	p := s.Pusher("http://" + l2.Addr().String() + "/")
	if status, body, err := p.Verify(context.Background(), "abc", Tamper{}); status != 200 || body != "abc" || err != nil {
		t.Errorf("%d %q %v", status, body, err)
	}
	if status, _, _ := p.Verify(context.Background(), "abc", Tamper{BadSignature: true}); status != 403 {
		t.Errorf("bad signature accepted: %d", status)
	}
}
