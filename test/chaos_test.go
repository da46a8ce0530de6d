package test

// The fault matrix: each case streams a known set of generated posts
// through separate iwom processes (connector, enrich, sink, alerts) on a
// NATS server with file storage and a real ClickHouse, injects a fault, and
// asserts exact counts at the end: nothing lost, nothing doubled.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/synth"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// chaosRow is one line of the fault-matrix report.
type chaosRow struct {
	Case                           string
	Sent, Stored, Duplicated, Lost int
	DLQ                            int
	// Rollups is what `iwom report check` said: "ok" or "N mismatches".
	Rollups string
}

var (
	chaosMu   sync.Mutex
	chaosRows []chaosRow
)

func recordChaos(r chaosRow) {
	chaosMu.Lock()
	chaosRows = append(chaosRows, r)
	chaosMu.Unlock()
}

// chaosReport renders the fault matrix (printed after the tests run, and
// written to $IWOM_CHAOS_REPORT when set).
func chaosReport() string {
	chaosMu.Lock()
	defer chaosMu.Unlock()
	if len(chaosRows) == 0 {
		return ""
	}
	sort.SliceStable(chaosRows, func(i, j int) bool { return chaosRows[i].Case < chaosRows[j].Case })
	var b strings.Builder
	b.WriteString("| fault case | posts sent | stored | duplicated | lost | dead letters | rollups |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range chaosRows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s |\n", r.Case, r.Sent, r.Stored, r.Duplicated, r.Lost, r.DLQ, r.Rollups)
	}
	return b.String()
}

type chaos struct {
	*env
	t        *testing.T
	natsDir  string
	natsPort int
	nats     *natsProc
	url      string
	// via maps a process name to the NATS URL it connects to instead of
	// url (a natsProxy).
	via   map[string]string
	procs map[string]*exec.Cmd
	logs  map[string]*os.File
	extra []string
}

// natsProc is a NATS server in a process of its own (`iwom nats`): not in
// the race-instrumented test binary, and killable like the real thing.
type natsProc struct {
	cmd  *exec.Cmd
	addr string
}

func startNATS(t *testing.T, dir string, port int) *natsProc {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(iwomBinary(t), "nats", "--listen", addr, "--store", dir)
	cmd.Env = append(os.Environ(), "IWOM_LOG_LEVEL=warn")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return &natsProc{cmd: cmd, addr: addr}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("NATS not ready")
	return nil
}

// stop shuts the server down cleanly (SIGTERM) and waits.
func (n *natsProc) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = n.cmd.Process.Wait()
}

func newChaos(t *testing.T, tweak func(*config.Config)) *chaos {
	t.Helper()
	c := &chaos{t: t, natsDir: t.TempDir(), via: map[string]string{}, procs: map[string]*exec.Cmd{}, logs: map[string]*os.File{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.natsPort = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.nats = startNATS(t, c.natsDir, c.natsPort)
	c.url = "nats://" + c.nats.addr
	t.Cleanup(func() {
		for name := range c.procs {
			c.kill(name)
		}
		if c.nats != nil {
			c.nats.stop()
		}
	})
	c.env = newEnv(t, func(cfg *config.Config) {
		cfg.NATS.URL = c.url
		cfg.NATS.AckWait = 3 * time.Second
		if tweak != nil {
			tweak(cfg)
		}
	})
	return c
}

// procEnv is the environment of this case's iwom processes, connecting to
// NATS at natsURL.
func (c *chaos) procEnv(natsURL string) []string {
	n := c.cfg.NATS
	env := append(os.Environ(),
		"IWOM_NATS_URL="+natsURL,
		"IWOM_NATS_ACK_WAIT="+n.AckWait.String(),
		"IWOM_NATS_MAX_BYTES="+strconv.FormatInt(n.MaxBytes, 10),
		"IWOM_NATS_DUPLICATE_WINDOW="+n.DuplicateWindow.String(),
		"IWOM_CLICKHOUSE_ADDR="+c.cfg.ClickHouse.Addr,
		"IWOM_CLICKHOUSE_DATABASE="+c.db,
		"IWOM_CLICKHOUSE_BATCH_SIZE="+strconv.Itoa(c.cfg.ClickHouse.BatchSize),
		"IWOM_CLICKHOUSE_FLUSH_INTERVAL="+c.cfg.ClickHouse.FlushInterval.String(),
		"IWOM_CLICKHOUSE_RETRY_MAX=1s",
		"IWOM_LIMITS_MAX_TEXT_BYTES="+strconv.Itoa(c.cfg.Limits.MaxTextBytes),
		"IWOM_LOG_LEVEL=warn",
		"IWOM_LOG_STATS_INTERVAL=1h",
		"IWOM_DATA_DIR="+c.t.TempDir(),
	)
	return append(env, c.extra...)
}

// start runs `iwom args...` as process name, configured for this case.
func (c *chaos) start(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(iwomBinary(c.t), args...)
	url := c.url
	if u, ok := c.via[name]; ok {
		url = u
	}
	cmd.Env = c.procEnv(url)
	f := c.logs[name]
	if f == nil {
		var err error
		f, err = os.Create(filepath.Join(c.t.TempDir(), name+".log"))
		if err != nil {
			c.t.Fatal(err)
		}
		c.logs[name] = f
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.procs[name] = cmd
}

// kill9 kills a process with SIGKILL: no shutdown, no flush, no ack.
func (c *chaos) kill9(name string) {
	if p := c.procs[name]; p != nil {
		_ = p.Process.Kill()
		_, _ = p.Process.Wait()
		delete(c.procs, name)
	}
}

// kill stops a process with SIGTERM (graceful).
func (c *chaos) kill(name string) {
	if p := c.procs[name]; p != nil {
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _, _ = p.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = p.Process.Kill()
		}
		delete(c.procs, name)
	}
}

// wait waits for a process to exit by itself.
func (c *chaos) wait(name string, timeout time.Duration) error {
	p := c.procs[name]
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case err := <-done:
		delete(c.procs, name)
		return err
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %s", name, timeout)
	}
}

func (c *chaos) logOf(name string) string {
	f := c.logs[name]
	if f == nil {
		return ""
	}
	data, _ := os.ReadFile(f.Name())
	return string(data)
}

func (c *chaos) stages(alerts bool) {
	c.start("enrich", "enrich")
	c.start("sink", "sink", "clickhouse")
	if alerts {
		c.start("alerts", "alerts", "run")
	}
}

// finish waits for the pipeline to drain, checks the counts against the
// truth and records the case.
func (c *chaos) finish(name string, truth synth.Truth, dlq int) {
	c.t.Helper()
	names := []string{app.DurableEnrich, app.DurableSink}
	if c.procs["alerts"] != nil {
		names = append(names, app.DurableAlerts)
	}
	c.waitIdle(names...)
	c.checkTruth(truth)
	stored := int(c.count("SELECT count() FROM " + c.db + ".posts"))
	distinct := int(c.count("SELECT uniqExact(platform, id) FROM " + c.db + ".posts"))
	dl := 0
	if st, err := c.app.Bus.State(context.Background()); err == nil {
		for _, n := range st.DLQ {
			dl += int(n)
		}
	}
	if dl != dlq {
		c.t.Errorf("%d dead letters, want %d", dl, dlq)
	}
	lost := truth.Total - distinct
	if lost < 0 {
		lost = 0
	}
	recordChaos(chaosRow{Case: name, Sent: truth.Total, Stored: stored, Duplicated: stored - distinct, Lost: lost, DLQ: dl, Rollups: c.reportCheck()})
}

var rollupsDiffer = regexp.MustCompile(`(\d+) rollup groups differ`)

// reportCheck runs `iwom report check` (the binary, as ops would) on the
// case's database and fails the case if it finds a rollup that differs
// from direct SQL on iwom.posts. It returns the fault matrix's cell: "ok"
// or "N mismatches".
func (c *chaos) reportCheck() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, iwomBinary(c.t), "report", "check")
	cmd.Env = c.procEnv(c.url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err == nil && out == "every rollup equals iwom.posts" {
		return "ok"
	}
	c.t.Errorf("iwom report check: %v\n%s\n%s", err, out, stderr.String())
	if m := rollupsDiffer.FindStringSubmatch(stderr.String()); m != nil {
		return m[1] + " mismatches"
	}
	if err == nil {
		return strconv.Itoa(len(strings.Split(out, "\n"))) + " mismatches"
	}
	return "check failed"
}

func writeFile(t *testing.T, n int, seed uint64) (string, synth.Truth) {
	return generate(t, n, seed, "crisis")
}

// kill -9 of each stage process (and of the connector), several times,
// mid-stream.
func TestChaosKill9(t *testing.T) {
	for _, victim := range []string{"enrich", "sink", "alerts", "connector"} {
		t.Run(victim, func(t *testing.T) {
			c := newChaos(t, func(cfg *config.Config) { cfg.ClickHouse.BatchSize = 300 })
			path, truth := writeFile(t, 6000, 21)
			c.stages(true)
			c.start("connector", "replay", "--file", path, "--rate", "1500")
			for i := 0; i < 3; i++ {
				time.Sleep(time.Duration(700+300*i) * time.Millisecond)
				c.kill9(victim)
				time.Sleep(300 * time.Millisecond)
				switch victim {
				case "connector":
					// A restarted connector replays the file from the start;
					// JetStream's duplicate window drops what it had sent.
					c.start("connector", "replay", "--file", path, "--rate", "3000")
				case "sink":
					c.start(victim, "sink", "clickhouse")
				case "alerts":
					c.start(victim, "alerts", "run")
				default:
					c.start(victim, victim)
				}
			}
			if err := c.wait("connector", 2*time.Minute); err != nil {
				t.Fatalf("connector: %v\n%s", err, c.logOf("connector"))
			}
			c.finish("kill -9 "+victim+" ×3", truth, 0)
		})
	}
}

// kill -9 of the sink after its ClickHouse insert and before its ack
// reaches NATS, three times mid-stream. The sink connects through a proxy
// that, once frozen, stops forwarding sink→NATS while NATS→sink still
// flows: a pull already on the server delivers a batch and the sink
// inserts it and acks into the void. The kill comes when new rows show up
// in ClickHouse (mostly during the rollup rebuild that follows the
// insert), or, if none do, once the proxy has held back acks for a second
// (batches stored and rebuilt whose acks never reached NATS). Then the
// held bytes are dropped and the sink restarted; JetStream redelivers the
// batches after the ack wait.
func TestChaosSinkKilledBeforeAck(t *testing.T) {
	c := newChaos(t, func(cfg *config.Config) { cfg.ClickHouse.BatchSize = 300 })
	path, truth := writeFile(t, 6000, 29)
	proxy := startNATSProxy(t, c.nats.addr)
	c.via["sink"] = proxy.URL()
	c.stages(false)
	c.start("connector", "replay", "--file", path, "--rate", "500")
	kills := 0
	for deadline := time.Now().Add(45 * time.Second); kills < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		// Freeze first, then count: rows that appear later were inserted
		// after the freeze, so their acks cannot have reached NATS.
		proxy.freeze()
		frozen := time.Now()
		before := c.storedRows()
		why := ""
		for why == "" && time.Since(frozen) < 2500*time.Millisecond {
			time.Sleep(20 * time.Millisecond)
			switch n := proxy.heldAcks(); {
			case c.storedRows() > before:
				why = fmt.Sprintf("rows inserted after the freeze (%d acks held)", n)
			case n > 0 && time.Since(frozen) > time.Second:
				why = fmt.Sprintf("%d acks held for stored rows", n)
			}
		}
		if why == "" {
			// The sink was idle (or a merge hid its insert): let its
			// bytes through and try again.
			t.Logf("the sink stored nothing in 2.5 s of freeze; thawing")
			proxy.thaw()
			continue
		}
		t.Logf("kill -9 sink: %s", why)
		c.kill9("sink")
		proxy.cut()
		kills++
		c.start("sink", "sink", "clickhouse")
	}
	if kills < 2 {
		t.Errorf("only %d kills landed between an insert and its ack", kills)
	}
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatalf("connector: %v\n%s", err, c.logOf("connector"))
	}
	c.finish(fmt.Sprintf("kill -9 sink between insert and ack ×%d", kills), truth, 0)
}

// storedRows counts the rows of the store table, duplicates included
// (posts_store under iwom.posts; the view itself if there is none).
func (c *chaos) storedRows() uint64 {
	c.t.Helper()
	table := "posts_store"
	if c.count("SELECT count() FROM system.tables WHERE database = ? AND name = ?", c.db, table) == 0 {
		table = "posts"
	}
	return c.count("SELECT count() FROM " + c.db + "." + table)
}

// waitStoredRows waits up to timeout for the store table to hold more
// than n rows.
func (c *chaos) waitStoredRows(n uint64, timeout time.Duration) bool {
	c.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c.storedRows() > n {
			return true
		}
	}
	return false
}

// The whole input replayed a second time, twice as fast, while the
// connector is still publishing it. The duplicate window is one second:
// the posts the two runs publish more than a second apart (the first
// ones, and the last ones, which the second run publishes first) pass
// JetStream's dedup and reach the sink again as re-observations; the
// posts in between, published by both within the window, are dropped as
// duplicates. iwom.posts holds each post once.
func TestChaosReplayWhileLive(t *testing.T) {
	c := newChaos(t, func(cfg *config.Config) {
		cfg.ClickHouse.BatchSize = 300
		cfg.NATS.DuplicateWindow = time.Second
	})
	path, truth := writeFile(t, 6000, 30)
	c.stages(false)
	start := time.Now()
	c.start("connector", "replay", "--file", path, "--rate", "600")
	// The replay starts once the pipeline is live (posts are being
	// stored), so that enrich publishes each copy as late after the
	// original as the connectors did, and at least 2 s in.
	if !c.waitStoredRows(0, 30*time.Second) {
		t.Fatalf("nothing stored after 30 s\n%s", c.logOf("sink"))
	}
	time.Sleep(time.Until(start.Add(2 * time.Second)))
	c.start("replay", "replay", "--file", path, "--rate", "1200")
	for _, p := range []string{"connector", "replay"} {
		if err := c.wait(p, 2*time.Minute); err != nil {
			t.Fatalf("%s: %v\n%s", p, err, c.logOf(p))
		}
	}
	c.finish("replay of the whole input while live", truth, 0)
	st, err := c.app.Bus.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Streams {
		if s.Name != bus.StreamEnriched {
			continue
		}
		if s.Messages <= uint64(truth.Total) {
			t.Errorf("the enriched stream holds %d posts for %d sent: no copy got past the duplicate window", s.Messages, truth.Total)
		} else {
			t.Logf("%d copies reached the sink", s.Messages-uint64(truth.Total))
		}
	}
}

// ClickHouse stopped for 30 s mid-stream, then started again.
func TestChaosClickHouseDown30s(t *testing.T) {
	c := newChaos(t, func(cfg *config.Config) { cfg.ClickHouse.BatchSize = 300 })
	path, truth := writeFile(t, 5000, 22)
	c.stages(false)
	c.start("connector", "replay", "--file", path, "--rate", "1000")
	time.Sleep(1500 * time.Millisecond)
	if err := ch.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Second)
	if err := ch.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	c.finish("ClickHouse stopped 30 s", truth, 0)
}

// ClickHouse answers errors for the inserts of a few seconds (the table is
// renamed away and back), then recovers.
func TestChaosClickHouseErrors(t *testing.T) {
	c := newChaos(t, func(cfg *config.Config) { cfg.ClickHouse.BatchSize = 200 })
	path, truth := writeFile(t, 4000, 23)
	c.stages(false)
	c.start("connector", "replay", "--file", path, "--rate", "1000")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		time.Sleep(time.Second)
		if err := c.conn.Exec(ctx, "RENAME TABLE "+c.db+".posts_store TO "+c.db+".posts_store_away"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		if err := c.conn.Exec(ctx, "RENAME TABLE "+c.db+".posts_store_away TO "+c.db+".posts_store"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	c.finish("ClickHouse insert errors", truth, 0)
	if !strings.Contains(c.logOf("sink"), "retrying") {
		t.Errorf("the sink did not report the failed inserts:\n%s", c.logOf("sink"))
	}
}

// The NATS server restarted (file storage) mid-stream.
func TestChaosNATSRestart(t *testing.T) {
	c := newChaos(t, nil)
	path, truth := writeFile(t, 5000, 24)
	c.stages(true)
	c.start("connector", "replay", "--file", path, "--rate", "1000")
	time.Sleep(1500 * time.Millisecond)
	c.nats.stop()
	time.Sleep(2 * time.Second)
	c.nats = startNATS(t, c.natsDir, c.natsPort)
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatalf("connector: %v\n%s", err, c.logOf("connector"))
	}
	c.finish("NATS restarted", truth, 0)
}

// A slow (here: absent) sink: the pipeline buffers in JetStream, the enrich
// process's memory stays bounded, and everything arrives once the sink runs.
func TestChaosBackpressure(t *testing.T) {
	c := newChaos(t, nil)
	path, truth := writeFile(t, 8000, 25)
	c.start("enrich", "enrich")
	c.start("connector", "replay", "--file", path)
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	c.waitIdle(app.DurableEnrich)
	rss := peakRSS(c.procs["enrich"].Process.Pid)
	if rss > 600 {
		t.Errorf("enrich peak RSS %.0f MB while the sink was away", rss)
	}
	st, err := c.app.Bus.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Streams {
		if s.Name == bus.StreamEnriched && s.Messages != uint64(truth.Total) {
			t.Errorf("enriched stream holds %d posts while the sink is away, want %d", s.Messages, truth.Total)
		}
	}
	c.start("sink", "sink", "clickhouse")
	c.finish("slow sink (backpressure)", truth, 0)
}

// Poison messages published straight onto the raw stream go to the DLQ;
// the stream moves on; odd but valid posts are stored.
func TestChaosPoison(t *testing.T) {
	c := newChaos(t, nil)
	_, truth := writeFile(t, 2000, 26)
	ctx := context.Background()
	emoji := strings.Repeat("😀", 1<<18) // 1 MiB
	poison := [][]byte{
		[]byte(`{"platform":"weibo","id":"huge","text":"` + strings.Repeat("长", 200000) + `","created_at":"2026-11-20T10:00:00Z"}`),
		[]byte(strings.Repeat(`{"a":`, 50000) + "1" + strings.Repeat("}", 50000)),
		[]byte("{\"platform\":\"weibo\",\"id\":\"utf\",\"text\":\"\xc3\x28\",\"created_at\":\"2026-11-20T10:00:00Z\"}"),
		[]byte(`{"platform":"weibo","id":"emoji","text":"` + emoji[:len(emoji)-200] + `","created_at":"2026-11-20T10:00:00Z"}`),
		[]byte(`null`),
	}
	for i, p := range poison {
		if _, err := c.app.Bus.Publish(ctx, bus.Out{Subject: bus.RawSubject("weibo"), Data: p, MsgID: fmt.Sprintf("poison:%d", i)}); err != nil {
			t.Fatalf("publishing poison %d: %v", i, err)
		}
	}
	// Valid posts with control characters are cleaned and stored.
	odd := `{"platform":"weibo","id":"ctl","text":"西门子\u0000冰箱\u0007门\u001b[31m坏了","created_at":"2026-11-20T10:00:00Z"}`
	if _, err := c.app.Bus.Publish(ctx, bus.Out{Subject: bus.RawSubject("weibo"), Data: []byte(odd), MsgID: "weibo:ctl"}); err != nil {
		t.Fatal(err)
	}
	c.stages(false)
	path, _ := writeFile(t, 2000, 26)
	c.start("connector", "replay", "--file", path)
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	truth.Total++ // the control-character post
	truth.Brands["siemens"]["total"]++
	c.waitIdle()
	var label string
	if err := c.conn.QueryRow(ctx, "SELECT sentiment_label FROM "+c.db+".posts WHERE id = 'ctl'").Scan(&label); err != nil {
		t.Fatalf("the control-character post was not stored: %v", err)
	}
	truth.Brands["siemens"][label]++
	c.finish("poison messages", truth, len(poison))
}

// The raw stream reaches its byte limit: the connector reports it and
// backs off without dropping anything; when ops raise the limit, it
// resumes and every post arrives once.
func TestChaosStreamFull(t *testing.T) {
	c := newChaos(t, func(cfg *config.Config) { cfg.NATS.MaxBytes = 400 << 10 })
	path, truth := writeFile(t, 3000, 27)
	c.start("connector", "replay", "--file", path)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(c.logOf("connector"), "maximum bytes") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(c.logOf("connector"), "maximum bytes") {
		t.Fatalf("the connector did not report the full stream:\n%s", c.logOf("connector"))
	}
	if c.procs["connector"].ProcessState != nil {
		t.Fatal("the connector gave up")
	}
	// Ops raise the limit (for every process); the stages start.
	c.cfg.NATS.MaxBytes = -1
	b, err := bus.Open(context.Background(), c.cfg.NATS, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	c.stages(false)
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, c.logOf("connector"))
	}
	c.finish("stream limit reached", truth, 0)
}

func peakRSS(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

var _ = chsink.Columns

// The enriched stream (downstream of enrich) fills up while everything
// runs: the enrich stage holds its batch and retries instead of
// dead-lettering good posts; once the limit is raised, everything arrives.
func TestChaosDownstreamStreamFull(t *testing.T) {
	c := newChaos(t, func(cfg *config.Config) { cfg.NATS.MaxBytes = 600 << 10 })
	path, truth := writeFile(t, 3000, 28)
	c.start("enrich", "enrich")
	c.start("connector", "replay", "--file", path)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(c.logOf("enrich"), "output not stored") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(c.logOf("enrich"), "output not stored") {
		t.Fatalf("enrich did not report the full enriched stream:\n%s", c.logOf("enrich"))
	}
	c.cfg.NATS.MaxBytes = -1
	b, err := bus.Open(context.Background(), c.cfg.NATS, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	c.start("sink", "sink", "clickhouse")
	if err := c.wait("connector", 2*time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, c.logOf("connector"))
	}
	c.finish("downstream stream full", truth, 0)
}
