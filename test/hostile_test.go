package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/test/fakeplatform"
)

// hostile is one `iwom run` process with an HTTP ingest door, its own
// embedded NATS (on a port other commands can reach) and ClickHouse
// database: the doors are attacked through real sockets.
type hostile struct {
	t        *testing.T
	natsURL  string
	wechat   string
	bin      string
	cfgFile  string
	env      []string
	ingest   string
	metrics  string
	db       string
	conn     driver.Conn
	cmd      *exec.Cmd
	log      *bytes.Buffer
	pid      int
	readyRSS float64
}

const hostileToken = "hostile-token-0123456789abcdef"

func startHostile(t *testing.T) *hostile {
	t.Helper()
	h := &hostile{t: t, bin: iwomBinary(t), db: fmt.Sprintf("iwom_hostile_%d", os.Getpid()), log: &bytes.Buffer{}}
	dir := t.TempDir()
	natsAddr, ingestAddr, metricsAddr, wechatAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	h.wechat = "http://" + wechatAddr + "/"
	h.ingest = "http://" + ingestAddr + "/v1/posts"
	h.natsURL = "nats://" + natsAddr
	h.metrics = "http://" + metricsAddr
	h.cfgFile = filepath.Join(dir, "iwom.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
nats:
  embedded_listen: %s
clickhouse:
  addr: %s
  database: %s
metrics:
  listen: %s
limits:
  # As large as the stream allows, so that the stream's own limits are
  # what a long post meets.
  max_text_bytes: 1048576
connectors:
  - kind: http
    name: ingest
    listen: %s
    tokens: [%s]
  - kind: wechat-push
    name: push
    listen: %s
    token: %s
    encoding_aes_key: %s
    appid: %s
`, filepath.Join(dir, "data"), natsAddr, ch.Addr(), h.db, metricsAddr, ingestAddr, hostileToken,
		wechatAddr, fakeplatform.PushToken, fakeplatform.PushAESKey, fakeplatform.DefaultWechatAppID)
	if err := os.WriteFile(h.cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env = append(os.Environ(), "IWOM_LOG_FORMAT=json", "IWOM_LOG_LEVEL=warn")
	h.cmd = exec.Command(h.bin, "--config", h.cfgFile, "run")
	h.cmd.Env = h.env
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.pid = h.cmd.Process.Pid
	t.Cleanup(func() {
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = h.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = h.cmd.Process.Kill()
		}
		if h.conn != nil {
			_ = h.conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+h.db)
			_ = h.conn.Close()
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(h.metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("iwom run not ready after 90 s:\n%s", h.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	h.conn = conn
	h.readyRSS = rssMB(h.pid)
	return h
}

// rssMB is the resident set of a process, in MB.
func rssMB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

type ingestAnswer struct {
	Accepted, Duplicates, Rejected, NotStored int
	Results                                   []struct {
		Line          int
		Status, Error string
	}
	Error string
}

func (h *hostile) send(body []byte, contentType, auth string) (int, ingestAnswer) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.ingest, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("ingest: %v\n%s", err, h.log)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var a ingestAnswer
	_ = json.Unmarshal(data, &a)
	return resp.StatusCode, a
}

func (h *hostile) count(q string) uint64 {
	h.t.Helper()
	var n uint64
	if err := h.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// goodBatch sends n good posts with ids <prefix>-<i> and waits until every
// one of them is in iwom.posts: nothing sent before stalled the pipeline.
func (h *hostile) goodBatch(prefix string, n int) {
	h.t.Helper()
	var b strings.Builder
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"platform":"weibo","id":"%s-%d","text":"西门子冰箱门关不上，客服投诉无门 %d","created_at":"%s","author":{"id":"u%d","followers":%d}}`+"\n", prefix, i, i, now, i, i*10)
	}
	if status, a := h.send([]byte(b.String()), "application/x-ndjson", "Bearer "+hostileToken); status != 202 || a.Accepted != n {
		h.t.Fatalf("good batch %s: %d %+v", prefix, status, a)
	}
	q := fmt.Sprintf("SELECT count() FROM %s.posts WHERE id LIKE '%s-%%'", h.db, prefix)
	deadline := time.Now().Add(60 * time.Second)
	for h.count(q) != uint64(n) {
		if time.Now().After(deadline) {
			h.t.Fatalf("good batch %s: %d of %d posts in ClickHouse after 60 s: the pipeline stalled\n%s", prefix, h.count(q), n, h.log)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (h *hostile) alive() {
	h.t.Helper()
	if err := h.cmd.Process.Signal(syscall.Signal(0)); err != nil || h.cmd.ProcessState != nil {
		h.t.Fatalf("iwom run is gone: %v\n%s", err, h.log)
	}
}

// postJSON is a valid post with field overrides; a nil value removes it.
func postJSON(id string, over map[string]any) []byte {
	p := map[string]any{
		"platform":   "weibo",
		"id":         id,
		"text":       "美的空调不制冷",
		"created_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"author":     map[string]any{"id": "a1", "name": "用户", "followers": 10},
		"metrics":    map[string]any{"reposts": 1, "comments": 2, "likes": 3},
	}
	for k, v := range over {
		parts := strings.Split(k, ".")
		m := p
		for _, part := range parts[:len(parts)-1] {
			if _, ok := m[part].(map[string]any); !ok {
				m[part] = map[string]any{}
			}
			m = m[part].(map[string]any)
		}
		if v == nil {
			delete(m, parts[len(parts)-1])
		} else {
			m[parts[len(parts)-1]] = v
		}
	}
	data, _ := json.Marshal(p)
	return data
}

// TestHostileInput attacks the HTTP ingest door and the replay door of a
// real `iwom run` with the findings of issue 13 and generated variants of
// each class, and checks each time: the right status with a reason, the
// refused lines dead-lettered, a batch of good posts sent right after
// arrives in ClickHouse, the process never restarts, and memory stays
// bounded.
func TestHostileInput(t *testing.T) {
	h := startHostile(t)
	auth := "Bearer " + hostileToken
	h.goodBatch("warmup", 50)
	tried := 0

	type hcase struct {
		name   string
		body   []byte
		status int
		reason string // in the line's error or the answer's
	}
	long := strings.Repeat("<长>", 22000) // its enriched form could not fit its stream
	var cases []hcase
	// The finding: 64 KB of text and an 850 KB url stalled enrich for good.
	cases = append(cases, hcase{"64KB text + 850KB url", postJSON("f1", map[string]any{"text": strings.Repeat("长", 21000), "url": "http://x.cn/" + strings.Repeat("a", 850<<10)}), 422, "url is"})
	cases = append(cases, hcase{"enriched form too large", postJSON("f2", map[string]any{"text": long}), 413, "enriched stream"})
	cases = append(cases, hcase{"64 KB of Chinese", postJSON("f3", map[string]any{"text": strings.Repeat("冰箱门关不上", 3640)}), 202, ""})
	// Every string field oversized in turn.
	for field, n := range map[string]int{"id": 257, "url": 4097, "author.id": 257, "author.name": 513, "author.location": 257, "repost_of": 257, "reply_to": 257, "source": 129} {
		id := "s-" + strings.ReplaceAll(field, ".", "-")
		v := strings.Repeat("a", n)
		if field == "id" {
			id = v
		}
		cases = append(cases, hcase{field + " oversized", postJSON(id, map[string]any{field: v}), 422, strings.TrimPrefix(field, "")})
	}
	cases = append(cases, hcase{"platform oversized", postJSON("p1", map[string]any{"platform": strings.Repeat("a", 65)}), 422, "platform"})
	cases = append(cases, hcase{"kind unknown", postJSON("k1", map[string]any{"kind": "poll"}), 422, "kind"})
	// Every count past its bound, and at it.
	for _, field := range []string{"author.followers", "metrics.reposts", "metrics.comments", "metrics.likes", "metrics.reads"} {
		cases = append(cases, hcase{field + " = 2^63-1", postJSON("c-"+field, map[string]any{field: int64(1<<63 - 1)}), 422, field})
		cases = append(cases, hcase{field + " = 10^12+1", postJSON("c1-"+field, map[string]any{field: int64(1e12 + 1)}), 422, field})
		cases = append(cases, hcase{field + " = 10^12", postJSON("cb-"+strings.ReplaceAll(field, ".", "-"), map[string]any{field: int64(1e12)}), 202, ""})
		cases = append(cases, hcase{field + " negative", postJSON("cn-"+field, map[string]any{field: -1}), 422, "negative"})
	}
	cases = append(cases, hcase{"verified_type 99999", postJSON("v1", map[string]any{"author.verified_type": 99999}), 422, "verified_type"})
	cases = append(cases, hcase{"verified_type 32767", postJSON("v2", map[string]any{"author.verified_type": 32767}), 202, ""})
	// Every time at the edges of DateTime and in the far future.
	for _, c := range []struct {
		at     string
		status int
	}{
		{"1900-01-01T00:00:00Z", 422}, {"1969-12-31T23:59:59Z", 422}, {"1970-01-01T00:00:00Z", 422},
		{"1970-01-02T00:00:00Z", 202}, {"2106-02-07T06:28:15Z", 422}, {"2200-01-01T00:00:00Z", 422},
		{"2099-01-01T00:00:00Z", 422}, {time.Now().UTC().Add(time.Hour).Format(time.RFC3339), 422},
	} {
		reason := "created_at"
		if c.status == 202 {
			reason = ""
		}
		cases = append(cases, hcase{"created_at " + c.at, postJSON("t-"+strings.NewReplacer(":", "", "-", "").Replace(c.at), map[string]any{"created_at": c.at}), c.status, reason})
	}
	for _, c := range cases {
		tried++
		status, a := h.send(c.body, "application/x-ndjson", auth)
		msg := a.Error
		if len(a.Results) > 0 {
			msg += " " + a.Results[0].Error
		}
		if status != c.status || !strings.Contains(msg, c.reason) {
			t.Errorf("%s: %d %q, want %d naming %q", c.name, status, msg, c.status, c.reason)
		}
	}
	h.goodBatch("after-fields", 100)

	// ingested_at is the server's: a client's 2099 neither stays nor pins
	// the version, and the next observation replaces the post.
	if status, a := h.send(postJSON("ing", map[string]any{"ingested_at": "2099-01-01T00:00:00Z"}), "application/json", auth); status != 202 {
		t.Fatalf("post with ingested_at 2099: %d %+v", status, a)
	}
	tried++
	q := fmt.Sprintf("SELECT count() FROM %s.posts WHERE id = 'ing' AND ingested_at < now() + 60", h.db)
	for deadline := time.Now().Add(30 * time.Second); h.count(q) != 1; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the post with ingested_at 2099 was not stored with the server's time")
		}
	}
	// The same id within the duplicate window is reported as a duplicate.
	if status, a := h.send(postJSON("ing", map[string]any{"metrics.likes": 99}), "application/json", auth); status != 202 || a.Duplicates != 1 || a.Results[0].Status != "duplicate" {
		t.Errorf("update within the duplicate window: %d %+v, want it reported as a duplicate", status, a)
	}
	tried++

	// A lower-case bearer scheme is accepted (RFC 7235), a wrong token not.
	if status, _ := h.send(postJSON("lc", nil), "application/json", "bearer "+hostileToken); status != 202 {
		t.Errorf("lower-case bearer: %d", status)
	}
	if status, _ := h.send(postJSON("lc2", nil), "application/json", "Bearer wrong-0123456789abcdef"); status != 401 {
		t.Errorf("wrong token: %d", status)
	}
	tried += 2

	// A 16 MB body of [0,0,…] is refused at the 10,001st element, and
	// memory stays bounded.
	big := append([]byte("["), bytes.Repeat([]byte("0,"), 8<<20-8)...)
	big = append(big[:len(big)-1], ']')
	status, a := h.send(big, "application/json", auth)
	if status != 413 {
		t.Errorf("16 MB array: %d %+v", status, a)
	}
	tried++
	if grew := rssMB(h.pid) - h.readyRSS; grew > 300 {
		t.Errorf("RSS grew by %.0f MB after the 16 MB array (%.0f MB at start)", grew, h.readyRSS)
	}

	// The replay door: a line just under the line limit that grows past the
	// raw stream's limit once stamped, a post from 2099, a malformed line,
	// and good posts: the replay ends, refused lines are dead-lettered with
	// their line numbers.
	file := filepath.Join(t.TempDir(), "hostile.jsonl")
	var rb bytes.Buffer
	rb.Write(postJSON("r-good-1", nil))
	rb.WriteByte('\n')
	pad := 1048500 - len(postJSON("r-big", map[string]any{"text": ""}))
	rb.Write(postJSON("r-big", map[string]any{"text": strings.Repeat("x", pad)}))
	rb.WriteByte('\n')
	rb.Write(postJSON("r-2099", map[string]any{"created_at": "2099-01-01T00:00:00Z", "ingested_at": "2099-01-01T00:00:00Z"}))
	rb.WriteString("\n{\"platform\":\"weibo\",\n")
	rb.Write(postJSON("r-good-2", nil))
	rb.WriteByte('\n')
	if err := os.WriteFile(file, rb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rp := exec.CommandContext(ctx, h.bin, "--config", h.cfgFile, "replay", "--file", file)
	rp.Env = h.env
	if out, err := rp.CombinedOutput(); err != nil {
		t.Fatalf("iwom replay: %v (a hang ends at 60 s)\n%s", err, out)
	}
	tried += 5
	dl := exec.Command(h.bin, "--config", h.cfgFile, "dlq", "list", "replay")
	dl.Env = h.env
	out, err := dl.CombinedOutput()
	if err != nil {
		t.Fatalf("iwom dlq list: %v\n%s", err, out)
	}
	for line, want := range map[string]string{"line 2": "raw stream", "line 3": "created_at", "line 4": "malformed"} {
		found := false
		for _, l := range strings.Split(string(out), "\n") {
			found = found || strings.Contains(l, line) && strings.Contains(l, want)
		}
		if !found {
			t.Errorf("dlq list replay does not show %s refused for %q:\n%s", line, want, out)
		}
	}
	q = fmt.Sprintf("SELECT count() FROM %s.posts WHERE id IN ('r-good-1', 'r-good-2')", h.db)
	for deadline := time.Now().Add(30 * time.Second); h.count(q) != 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the good replayed posts did not arrive")
		}
	}
	h.goodBatch("after-replay", 100)
	h.alive()
	if n := h.count(fmt.Sprintf("SELECT count() FROM %s.posts WHERE created_at < toDateTime('1971-01-01 00:00:00') OR created_at > now() + 3600", h.db)); n != 1 {
		// the one accepted edge: 1970-01-02
		t.Errorf("%d stored posts outside the accepted times, want only the 1970-01-02 edge", n)
	}
	t.Logf("%d hostile requests and lines tried; RSS %.0f MB at start, %.0f MB at the end", tried, h.readyRSS, rssMB(h.pid))
}

// iwom run exits non-zero when its metrics endpoint or a connector cannot
// bind its address, instead of running deaf; and only iwom run owns the
// broker: other commands fail with "no iwom running at …" and leave no
// NATS files behind.
func TestRunFailsWhenItCannotBindAndOthersNeverOwnTheBroker(t *testing.T) {
	bin := iwomBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	dir := t.TempDir()
	base := append(os.Environ(), "IWOM_DATA_DIR="+filepath.Join(dir, "data"), "IWOM_NATS_EMBEDDED_LISTEN="+freeAddr(t),
		"IWOM_CLICKHOUSE_ADDR="+ch.Addr(), fmt.Sprintf("IWOM_CLICKHOUSE_DATABASE=iwom_bind_%d", os.Getpid()), "IWOM_LOG_FORMAT=json")
	runFor := func(env []string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("iwom %s still running after 60 s:\n%s", strings.Join(args, " "), out)
		}
		return string(out), err
	}
	if out, err := runFor(append(base, "IWOM_METRICS_LISTEN="+busy), "run", "--no-alerts"); err == nil || !strings.Contains(out, "metrics.listen") {
		t.Errorf("run with metrics.listen taken: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "iwom.yaml")
	if err := os.WriteFile(cfg, []byte("connectors:\n  - kind: http\n    name: ingest\n    listen: "+busy+"\n    tokens: [\""+hostileToken+"\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runFor(base, "--config", cfg, "run", "--no-alerts"); err == nil || !strings.Contains(out, "connector ingest") {
		t.Errorf("run with the ingest address taken: %v\n%s", err, out)
	}
	empty := t.TempDir()
	for _, args := range [][]string{{"status"}, {"dlq", "list"}, {"alerts", "list"}, {"replay", "--file", "/dev/null"}} {
		env := append(append([]string{}, base...), "IWOM_DATA_DIR="+empty)
		out, err := runFor(env, args...)
		if err == nil || !strings.Contains(out, "no iwom running at") {
			t.Errorf("iwom %s with no iwom running: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("commands that do not own the broker left %d files in data_dir", len(entries))
	}
}

// readSSE opens an alert stream and sends the ids of its events on ids
// until ctx ends; the status comes first.
func readSSE(ctx context.Context, u, token, lastID string, status chan<- int, ids chan<- string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Authorization", "bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		status <- 0
		return
	}
	defer resp.Body.Close()
	status <- resp.StatusCode
	buf := make([]byte, 64<<10)
	var acc string
	for {
		n, err := resp.Body.Read(buf)
		acc += string(buf[:n])
		for {
			i := strings.Index(acc, "\n")
			if i < 0 {
				break
			}
			line := acc[:i]
			acc = acc[i+1:]
			if id, ok := strings.CutPrefix(line, "id: "); ok && ids != nil {
				select {
				case ids <- id:
				case <-ctx.Done():
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// TestHostileAPI attacks the report API and the alert stream of a real
// `iwom serve`: time zones ClickHouse cannot use are 400 (they were 500),
// a Last-Event-ID past the end (the largest uint64) resumes at the live
// tail instead of looping or waiting for ever, a lower-case bearer scheme
// is taken, and one client cannot hold every stream. The alert engine's
// watermark never passes the server clock.
func TestHostileAPI(t *testing.T) {
	h := startHostile(t)
	h.goodBatch("api", 20)
	token := "api-token-0123456789abcdef"
	base, logs := startServe(t, h.bin, append(os.Environ(), "IWOM_CLICKHOUSE_ADDR="+ch.Addr(), "IWOM_CLICKHOUSE_DATABASE="+h.db,
		"IWOM_NATS_URL="+h.natsURL, "IWOM_LOG_FORMAT=json", "IWOM_METRICS_LISTEN=", "IWOM_API_TOKENS="+token, "IWOM_API_MAX_CLIENT_STREAMS=3"),
		func(base string) bool { return httpStatus(base+"/readyz") == 200 })
	for _, tz := range []string{"Local", "right/UTC", "posix/Asia/Shanghai", "../../etc/passwd", "Asia/Nowhere"} {
		if code, body := httpGet(t, base+"/v1/reports/volume?brand=siemens&tz="+tz, token); code != 400 {
			t.Errorf("tz=%s: %d %s", tz, code, body)
		}
	}
	if code, body := httpGet(t, base+"/v1/reports/volume?brand=siemens&tz=Asia/Shanghai", token); code != 200 {
		t.Errorf("tz=Asia/Shanghai: %d %s", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := base + "/v1/alerts/stream"
	status := make(chan int, 8)
	ids := make(chan string, 8)
	go readSSE(ctx, stream, token, "18446744073709551615", status, ids)
	if code := <-status; code != 200 {
		t.Fatalf("alert stream with Last-Event-ID 2^64-1: %d\n%s", code, logs)
	}
	// Two more streams fill this client's cap of 3; the fourth is 429.
	for i := 0; i < 2; i++ {
		go readSSE(ctx, stream, token, "", status, nil)
		if code := <-status; code != 200 {
			t.Fatalf("stream %d: %d", i+2, code)
		}
	}
	go readSSE(ctx, stream, token, "", status, nil)
	if code := <-status; code != 429 {
		t.Errorf("a fourth stream from one client: %d, want 429", code)
	}
	// A new alert reaches the stream that resumed past the end.
	nc, err := nats.Connect(h.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	al := `{"v":2,"id":"siemens:negative_spike:1","seq":1,"rule":"negative_spike","kind":"negative_spike","brand":"siemens","state":"firing","severity":5}`
	ack, err := js.Publish(ctx, "iwom.alerts.siemens.negative_spike", []byte(al))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-ids:
		if id != strconv.FormatUint(ack.Sequence, 10) {
			t.Errorf("delivered id %s, want %d", id, ack.Sequence)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the stream resumed with Last-Event-ID 2^64-1 delivered nothing new")
	}
	// The alert engine's watermark is not ahead of the server clock.
	resp, err := http.Get(h.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "iwom_alerts_watermark_seconds{") {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			if v > float64(time.Now().Unix()+60) {
				t.Errorf("alert watermark %s is ahead of the clock", time.Unix(int64(v), 0).UTC())
			}
		}
	}
	h.alive()
}

// TestHostileWeChat attacks the WeChat receiver of a real `iwom run` in
// safe mode: a signed message with CreateTime 2^40−1 (it used to be
// answered "success", then wedge the queue and lose every later message)
// is dead-lettered; plaintext is refused in safe mode; a replayed
// (timestamp, nonce) is refused; and every good message sent after them is
// answered "success" only once stored, and is in ClickHouse.
func TestHostileWeChat(t *testing.T) {
	h := startHostile(t)
	p := &fakeplatform.Pusher{URL: h.wechat, Token: fakeplatform.PushToken, EncodingAESKey: fakeplatform.PushAESKey, AppID: fakeplatform.DefaultWechatAppID}
	ctx := context.Background()
	msg := func(id int64, at int64) fakeplatform.PushMessage {
		return fakeplatform.PushMessage{ToUserName: "gh_hostile", FromUserName: "o-user", CreateTime: at, MsgType: "text", Content: "美的空调不制冷，客服不理人", MsgID: id}
	}
	now := time.Now().Unix()
	for _, c := range []struct {
		name   string
		m      fakeplatform.PushMessage
		mode   fakeplatform.Mode
		tamper fakeplatform.Tamper
		status int
		body   string
	}{
		{"CreateTime 2^40-1", msg(1, 1<<40-1), fakeplatform.Safe, fakeplatform.Tamper{}, 200, "success"},
		{"CreateTime -1", msg(2, -1), fakeplatform.Safe, fakeplatform.Tamper{}, 200, "success"},
		{"CreateTime an hour ahead", msg(3, now+3600), fakeplatform.Safe, fakeplatform.Tamper{}, 200, "success"},
		{"plaintext in safe mode", msg(4, now), fakeplatform.Plain, fakeplatform.Tamper{}, 403, ""},
		{"first use of a nonce", msg(5, now), fakeplatform.Safe, fakeplatform.Tamper{Nonce: "n-hostile-1"}, 200, "success"},
		{"the same nonce again", msg(6, now), fakeplatform.Safe, fakeplatform.Tamper{Nonce: "n-hostile-1"}, 403, ""},
	} {
		status, body, err := p.Send(ctx, c.m, c.mode, c.tamper)
		if err != nil || status != c.status || c.body != "" && body != c.body {
			t.Errorf("%s: %d %q %v, want %d %q", c.name, status, body, err, c.status, c.body)
		}
	}
	const good = 30
	for i := int64(0); i < good; i++ {
		if status, body, err := p.Send(ctx, msg(100+i, now), fakeplatform.Safe, fakeplatform.Tamper{}); err != nil || status != 200 || body != "success" {
			t.Fatalf("good message %d: %d %q %v\n%s", i, status, body, err, h.log)
		}
	}
	q := fmt.Sprintf("SELECT count() FROM %s.posts WHERE platform = 'wechat' AND id LIKE 'msg-gh_hostile-1%%'", h.db)
	for deadline := time.Now().Add(60 * time.Second); h.count(q) != good; time.Sleep(300 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d good WeChat messages in ClickHouse after 60 s\n%s", h.count(q), good, h.log)
		}
	}
	if n := h.count(fmt.Sprintf("SELECT count() FROM %s.posts WHERE platform = 'wechat' AND id IN ('msg-gh_hostile-1', 'msg-gh_hostile-2', 'msg-gh_hostile-3')", h.db)); n != 0 {
		t.Errorf("%d messages with impossible CreateTime stored", n)
	}
	dl := exec.Command(h.bin, "--config", h.cfgFile, "dlq", "list", "push")
	dl.Env = h.env
	out, err := dl.CombinedOutput()
	if err != nil || strings.Count(string(out), "created_at") < 2 && strings.Count(string(out), "CreateTime") < 2 {
		t.Errorf("dead letters of the push receiver do not name the bad times: %v\n%s", err, out)
	}
	h.alive()
}
