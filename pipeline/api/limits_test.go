package api

// Issue 13 (hostile input): the bearer scheme in any case, time zones
// ClickHouse cannot use, Last-Event-ID past the stream or not a number,
// one client holding every alert stream, reports queued past their slots.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBearerSchemeAnyCase(t *testing.T) {
	tok := "s3cret-token-0123456789"
	_, hs := newServer(t, []string{"another-token-0123456789", tok}, 10*time.Second)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEARER"} {
		for _, path := range []string{"/v1/reports/volume?since=3h", "/v1/brands", "/v1/reports"} {
			if code, body, _ := get(t, hs, path, "Authorization", scheme+" "+tok); code != 200 {
				t.Errorf("%s %s: %d %s", scheme, path, code, body)
			}
		}
	}
	for _, auth := range []string{"", "bearer", "bearer wrong-token-0123456789", "Basic " + tok, "Bearer " + tok + "x", "Bearer " + tok[:len(tok)-1]} {
		code, body, h := get(t, hs, "/v1/reports/volume?since=3h", "Authorization", auth)
		if code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, `"error"`) {
			t.Errorf("%q: %d %q %s", auth, code, h.Get("WWW-Authenticate"), body)
		}
	}
}

// tz=Local and tz=right/UTC passed the parser and failed in ClickHouse
// (500): they are bad parameters (400) now.
func TestTimeZonesOverHTTP(t *testing.T) {
	_, hs := newServer(t, nil, 10*time.Second)
	for _, tz := range []string{"Local", "right/UTC", "posix/Asia/Shanghai", "localtime", "../../etc/passwd", "Asia/../UTC", "Mars/Base"} {
		code, body, _ := get(t, hs, "/v1/reports/volume?since=3h&tz="+url.QueryEscape(tz))
		if code != 400 || !strings.Contains(body, `"error":"bad parameter tz`) {
			t.Errorf("tz=%s: %d %s, want 400 naming tz", tz, code, body)
		}
	}
	for _, tz := range []string{"", "UTC", "Asia/Shanghai", "Etc/GMT-8"} {
		if code, body, _ := get(t, hs, "/v1/reports/sentiment?since=3h&interval=day&tz="+url.QueryEscape(tz)); code != 200 {
			t.Errorf("tz=%q: %d %s", tz, code, body)
		}
	}
}

// afterFeed records the after of each call and holds the stream open.
func afterFeed(s *Server) <-chan uint64 {
	afters := make(chan uint64, 16)
	s.SetAlerts(func(ctx context.Context, _ []string, after uint64, _ func(uint64, []byte) error) error {
		afters <- after
		<-ctx.Done()
		return nil
	})
	return afters
}

func openStream(t *testing.T, client *http.Client, base, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Last-Event-ID is a uint64: the largest one, one past it and garbage
// resume at the live tail (the feed resumes there past the stream's last
// sequence); the after parameter is strict (400).
func TestLastEventIDStrict(t *testing.T) {
	s, hs := newServer(t, nil, 10*time.Second)
	afters := afterFeed(s)
	s.MaxClientStreams = 100 // the streams close one by one, each a little later
	for _, tc := range []struct {
		path, lastID string
		want         uint64
	}{
		{"", "18446744073709551615", LiveTail},
		{"", "18446744073709551616", LiveTail},
		{"", "99999999999999999999999", LiveTail},
		{"", "-1", LiveTail},
		{"", "1e3", LiveTail},
		{"", "0x10", LiveTail},
		{"", "garbage", LiveTail},
		{"", "42", 42},
		{"", "0", 0},
		{"?after=7", "", 7},
		{"?after=7", "9", 9}, // the header wins
		{"?after=18446744073709551615", "", LiveTail},
	} {
		resp := openStream(t, hs.Client(), hs.URL, "/v1/alerts/stream"+tc.path, "Last-Event-ID", tc.lastID)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s Last-Event-ID %q: %d", tc.path, tc.lastID, resp.StatusCode)
			continue
		}
		select {
		case after := <-afters:
			if after != tc.want {
				t.Errorf("%s Last-Event-ID %q: feed called after %d, want %d", tc.path, tc.lastID, after, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s Last-Event-ID %q: the feed was not called", tc.path, tc.lastID)
		}
	}
	for _, after := range []string{"x", "-1", "+5", "18446744073709551616", "1.5", "%205"} {
		resp := openStream(t, hs.Client(), hs.URL, "/v1/alerts/stream?after="+after)
		resp.Body.Close() // a stream opened by mistake would never end
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("after=%s: %d, want 400", after, resp.StatusCode)
		}
	}
}

// One client used to be able to open every alert stream (256): now it
// gets 429 past its own cap, and everybody 503 past the global one, both
// with Retry-After; closed streams give their slots back.
func TestAlertStreamCaps(t *testing.T) {
	tokA, tokB, tokC := "token-a-0123456789", "token-b-0123456789", "token-c-0123456789"
	s, hs := newServer(t, []string{tokA, tokB, tokC}, 10*time.Second)
	afterFeed(s)
	s.MaxClientStreams, s.MaxStreams = 2, 3
	var open []*http.Response
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	stream := func(tok string, want int) *http.Response {
		t.Helper()
		// A fresh transport per stream: each stream is its own connection.
		c := &http.Client{Transport: &http.Transport{}}
		resp := openStream(t, c, hs.URL, "/v1/alerts/stream", "Authorization", "Bearer "+tok)
		if resp.StatusCode != want {
			resp.Body.Close()
			t.Fatalf("token %s: %d, want %d", tok[:7], resp.StatusCode, want)
		}
		if want != 200 {
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("token %s: %d without Retry-After", tok[:7], want)
			}
			resp.Body.Close()
			return nil
		}
		open = append(open, resp)
		return resp
	}
	a1 := stream(tokA, 200)
	stream(tokA, 200)
	stream(tokA, http.StatusTooManyRequests)
	stream(tokB, 200)
	stream(tokB, http.StatusServiceUnavailable)
	stream(tokC, http.StatusServiceUnavailable)
	a1.Body.Close()
	// The slot comes back once the server sees the connection close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := &http.Client{Transport: &http.Transport{}}
		resp := openStream(t, c, hs.URL, "/v1/alerts/stream", "Authorization", "Bearer "+tokC)
		if resp.StatusCode == 200 {
			open = append(open, resp)
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream did not give its slot back: %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Without tokens a client is its remote IP.
func TestAlertStreamCapPerIP(t *testing.T) {
	s, hs := newServer(t, nil, 10*time.Second)
	afterFeed(s)
	s.MaxClientStreams = 1
	first := openStream(t, &http.Client{Transport: &http.Transport{}}, hs.URL, "/v1/alerts/stream")
	defer first.Body.Close()
	second := openStream(t, &http.Client{Transport: &http.Transport{}}, hs.URL, "/v1/alerts/stream")
	second.Body.Close()
	if first.StatusCode != 200 || second.StatusCode != http.StatusTooManyRequests || second.Header.Get("Retry-After") == "" {
		t.Errorf("first %d, second %d %v", first.StatusCode, second.StatusCode, second.Header)
	}
}

func TestStreamCountConcurrent(t *testing.T) {
	var c streamCount
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			release, code := c.acquire([]string{"a", "b"}[i%2], 10, 16)
			mu.Lock()
			got[code]++
			mu.Unlock()
			if release != nil {
				defer release()
				defer release() // twice: counted once
				time.Sleep(20 * time.Millisecond)
			}
		}(i)
	}
	wg.Wait()
	if got[0] < 16 || c.total != 0 || len(c.perClient) != 0 {
		t.Errorf("%v total %d per client %v", got, c.total, c.perClient)
	}
}

// The report slots (maxConcurrent of New) apply to /v1/reports/<name>: a
// request that finds them all taken until its timeout is answered 503
// with Retry-After.
func TestReportSlotsFull(t *testing.T) {
	s, hs := newServer(t, nil, 300*time.Millisecond)
	for i := 0; i < cap(s.slots); i++ {
		s.slots <- struct{}{}
	}
	code, body, h := get(t, hs, "/v1/reports/volume?since=3h")
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "too many reports") {
		t.Errorf("%d %s %v", code, body, h)
	}
	for i := 0; i < cap(s.slots); i++ {
		<-s.slots
	}
	if code, body, _ := get(t, hs, "/v1/reports/volume?since=3h"); code != 200 {
		t.Errorf("free slots: %d %s", code, body)
	}
}
