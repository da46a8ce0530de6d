package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// readerUser adds a read-only ClickHouse user for db to the test server
// (a users.d file, as deploy/clickhouse/users.d/iwom-reader.xml does in
// compose) and waits until ClickHouse has loaded it.
func readerUser(t *testing.T, e *env) (user, password string, conn driver.Conn) {
	t.Helper()
	src, err := os.ReadFile("../deploy/clickhouse/users.d/iwom-reader.xml")
	if err != nil {
		t.Fatal(err)
	}
	user, password = "reader_"+e.db, "reader-password"
	x := strings.ReplaceAll(string(src), `<password from_env="IWOM_READER_PASSWORD"/>`, "<password>"+password+"</password>")
	x = strings.ReplaceAll(x, "<database>iwom</database>", "<database>"+e.db+"</database>")
	x = strings.ReplaceAll(x, "iwom_reader", user) // the user and its profile
	if !strings.Contains(x, "<readonly>1</readonly>") || !strings.Contains(x, "<"+user+">") {
		t.Fatalf("unexpected deploy/clickhouse/users.d/iwom-reader.xml:\n%s", src)
	}
	dir := filepath.Join(ch.Dir, "users.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, user+".xml")
	if err := os.WriteFile(file, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(file) })
	cfg := *e.cfg
	chCfg := cfg.ClickHouse
	chCfg.User, chCfg.Password = user, password
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := chsink.OpenReader(chCfg)
		if err == nil {
			if err = c.Ping(context.Background()); err == nil {
				t.Cleanup(func() { c.Close() })
				return user, password, c
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("ClickHouse did not load the reader user: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func httpGet(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startServe runs `iwom serve` (the built binary) with env on a free port
// until the test ends, and returns its base URL once ready(base) holds,
// and its output.
func startServe(t *testing.T, bin string, env []string, ready func(base string) bool) (string, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	srv := exec.Command(bin, "serve", "--listen", addr)
	srv.Env = env
	logs := &syncBuffer{}
	srv.Stdout, srv.Stderr = logs, logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() })
	base := "http://" + addr
	waitFor(t, 30*time.Second, func() bool { return ready(base) }, func() string { return "iwom serve not ready:\n" + logs.String() })
	return base, logs
}

// httpStatus is the status of GET u (0 when it fails), read within 2 s:
// a stream's status arrives before its body.
func httpStatus(u string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// `iwom serve` (the built binary) as a read-only ClickHouse user, with a
// bearer token, answers every report with the same JSON as `iwom report
// <name> --format json`; hostile parameters are data; the reader cannot
// write.
func TestAnalyticsServeAndCLI(t *testing.T) {
	e := newEnv(t, nil)
	path, truth := generate(t, 2000, 21, "crisis")
	e.start(e.enrichRunner(), e.sinkRunner())
	e.replay(path, 0)
	e.waitIdle()
	user, password, reader := readerUser(t, e)
	ctx := context.Background()
	for _, stmt := range []string{"INSERT INTO " + e.db + ".posts_store (platform, id) VALUES ('x', 'y')", "DROP TABLE " + e.db + ".posts_store",
		"SELECT count() FROM system.numbers LIMIT 1 SETTINGS readonly = 0"} {
		if err := reader.Exec(ctx, stmt); err == nil {
			t.Errorf("the read-only user ran %q", stmt)
		}
	}

	bin := iwomBinary(t)
	token := "test-token-abcdefghijklmnop"
	env := append(os.Environ(),
		"IWOM_CLICKHOUSE_ADDR="+e.cfg.ClickHouse.Addr, "IWOM_CLICKHOUSE_DATABASE="+e.db,
		"IWOM_API_CLICKHOUSE_USER="+user, "IWOM_API_CLICKHOUSE_PASSWORD="+password, "IWOM_API_TOKENS="+token,
		"IWOM_LOG_FORMAT=json", "IWOM_METRICS_LISTEN=")
	base, logs := startServe(t, bin, env, func(base string) bool { return httpStatus(base+"/readyz") == 200 })
	if code, _ := httpGet(t, base+"/v1/reports/volume", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	brand := truth.Crisis.Brand
	for _, name := range []string{"volume", "sov", "sentiment", "keywords", "kols", "top-posts", "spikes"} {
		q := url.Values{"brand": {brand}, "from": {"2026-11-19T12:00:00Z"}, "to": {"2026-11-20T12:00:00Z"}}
		code, body := httpGet(t, base+"/v1/reports/"+name+"?"+q.Encode(), token)
		if code != 200 {
			t.Fatalf("%s: %d %s", name, code, body)
		}
		args := []string{"report", name, "--brand", brand, "--from", "2026-11-19T12:00:00Z", "--to", "2026-11-20T12:00:00Z", "--format", "json"}
		cli := exec.Command(bin, args...)
		cli.Env = env
		out, err := cli.CombinedOutput()
		if err != nil {
			t.Fatalf("iwom %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if strings.TrimSpace(string(out)) != strings.TrimSpace(body) {
			t.Errorf("%s: the API and the CLI differ:\nAPI %s\nCLI %s", name, body, out)
		}
		var doc struct {
			Report string           `json:"report"`
			Rows   []map[string]any `json:"rows"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Report != name {
			t.Fatalf("%s: %v %s", name, err, body)
		}
		if len(doc.Rows) == 0 {
			t.Errorf("%s: no rows", name)
		}
	}
	// The volume total is the direct count.
	code, body := httpGet(t, base+"/v1/reports/volume?brand="+brand+"&from=2026-11-19T12:00:00Z&to=2026-11-20T12:00:00Z", token)
	var doc struct{ Rows []map[string]any }
	_ = json.Unmarshal([]byte(body), &doc)
	var total float64
	for _, r := range doc.Rows {
		total += r["posts"].(float64)
	}
	if want := e.count(fmt.Sprintf("SELECT count() FROM %s.posts WHERE has(brands, '%s')", e.db, brand)); code != 200 || uint64(total) != want {
		t.Errorf("volume total %v, iwom.posts %d", total, want)
	}

	// Hostile values: a brand or platform is only ever a value.
	for _, h := range []string{`'; DROP TABLE ` + e.db + `.posts_store --`, `siemens' OR '1'='1`, `siemens\' --`, "西门子') UNION ALL SELECT name FROM system.users --", "siemens\u0000"} {
		for _, key := range []string{"brand", "platform"} {
			code, body := httpGet(t, base+"/v1/reports/volume?"+url.Values{key: {h}, "since": {"48h"}}.Encode(), token)
			if code != 200 && code != 400 {
				t.Errorf("%s=%q: %d %s", key, h, code, body)
			}
			if key == "brand" && strings.Contains(body, `"posts":`) && !strings.Contains(body, `"rows":[]`) {
				var d struct{ Rows []map[string]any }
				_ = json.Unmarshal([]byte(body), &d)
				for _, r := range d.Rows {
					if r["posts"].(float64) != 0 {
						t.Errorf("brand=%q matched posts: %v", h, r)
					}
				}
			}
		}
		if code, _ := httpGet(t, base+"/v1/reports/volume?interval="+url.QueryEscape(h), token); code != 400 {
			t.Errorf("interval=%q: %d, want 400", h, code)
		}
		if strings.ContainsRune(h, 0) {
			continue // not expressible as a command-line argument
		}
		args := []string{"report", "sentiment", "--brand", h, "--since", "48h", "--format", "json"}
		cli := exec.Command(bin, args...)
		cli.Env = env
		if out, err := cli.CombinedOutput(); err != nil || strings.Contains(string(out), `"posts":1`) {
			t.Errorf("iwom report sentiment --brand %q: %v %s", h, err, out)
		}
	}
	if n := e.count("SELECT count() FROM " + e.db + ".posts"); n != uint64(truth.Total) {
		t.Errorf("iwom.posts has %d rows after the attempts, want %d", n, truth.Total)
	}
	if !strings.Contains(logs.String(), `"clickhouse_user":"`+user+`"`) || strings.Contains(logs.String(), "may write") {
		t.Errorf("serve did not run as the read-only user:\n%s", logs.String())
	}
}
