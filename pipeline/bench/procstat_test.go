package bench

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stat line of ClickHouse 18.16 with utime 4521 and stime 1234 ticks.
const chStat = "2608 (clickhouse-serv) S 1 2608 2608 0 -1 4194304 11227 0 8 0 4521 1234 0 0 20 0 29 0 25217 701018112 21633 18446744073709551615 94220455542784 94220456629216 140732640309616 0 0 0 4096 0 1073764079 0 0 0 17 1 0 0 0 0 0 94220456634560 94220456682528 94220927623168 140732640311914 140732640311996 140732640311996 140732640313308 0\n"

func TestParseStatCPU(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       float64
	}{
		{"clickhouse", chStat, 57.55},
		// The command name may hold spaces and parentheses.
		{"odd comm", "42 (a b) c)) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1", 0.1},
	} {
		got, err := parseStatCPU(c.line)
		if err != nil || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "42 no parens here", "42 (x) S 1 2 3", "42 (x) S 1 2608 2608 0 -1 0 0 0 0 0 u s"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

func TestIsClickHouseServer(t *testing.T) {
	for _, c := range []struct {
		comm, cmdline string
		want          bool
	}{
		{"clickhouse-serv\n", "/usr/sbin/clickhouse-server\x00--config-file=/etc/clickhouse-server/config.xml\x00", true},
		{"clickhouse\n", "/usr/bin/clickhouse\x00server\x00--config-file=c.xml\x00", true},
		{"ClickHouseWatch\n", "/usr/bin/clickhouse-server\x00--config=c.xml\x00", true},
		{"clickhouse\n", "/usr/bin/clickhouse\x00client\x00--query=SELECT 1\x00", false},
		{"clickhouse-clie\n", "clickhouse-client\x00", false},
		{"bash\n", "bash\x00-c\x00clickhouse-server\x00", false},
		{"", "", false},
	} {
		if got := isClickHouseServer(c.comm, c.cmdline); got != c.want {
			t.Errorf("isClickHouseServer(%q, %q) = %v", c.comm, c.cmdline, got)
		}
	}
}

func TestParseListeners(t *testing.T) {
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 6175 1 0000000002a91679 100 0 0 10 0
   1: 0100007F:2328 0100007F:D431 01 00000000:00000000 00:00000000 00000000   101        0 7001 1 0000000002a91679 100 0 0 10 0
   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 262 1 00000000aec9f18c 100 0 0 10 0
`
	got := parseListeners(bufio.NewScanner(strings.NewReader(tcp)), map[int]bool{9000: true})
	if len(got) != 1 || !got["6175"] {
		t.Errorf("listeners on 9000: %v, want only inode 6175 (the established socket is not one)", got)
	}
}

// fakeProc writes a procfs with the given processes (pid → comm, cmdline,
// stat).
func fakeProc(t *testing.T, procs map[string][3]string) string {
	t.Helper()
	dir := t.TempDir()
	for pid, p := range procs {
		d := filepath.Join(dir, pid)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"comm", "cmdline", "stat"} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(p[i]), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestClickHouseMeter(t *testing.T) {
	proc := fakeProc(t, map[string][3]string{
		"2608": {"clickhouse-serv\n", "/usr/sbin/clickhouse-server\x00", chStat},
		"77":   {"bash\n", "bash\x00", "77 (bash) S 1 77 77 0 -1 0 0 0 0 0 500 500 0 0 20 0 1 0 1 1 1"},
	})
	m := newClickHouseMeter([]string{"127.0.0.1:9000"})
	m.proc = proc
	cpu, ok := m.read()
	if !ok || len(cpu) != 1 || math.Abs(cpu[2608]-57.55) > 1e-9 {
		t.Fatalf("local server: %v %v (%s)", cpu, ok, m.note)
	}
	if !strings.Contains(m.note, "2608") {
		t.Errorf("note %q does not name the pid", m.note)
	}

	// Two servers and no way to tell which one listens: both are summed
	// and the note says so.
	proc2 := fakeProc(t, map[string][3]string{
		"2608": {"clickhouse-serv\n", "/usr/sbin/clickhouse-server\x00", chStat},
		"3000": {"clickhouse\n", "/usr/bin/clickhouse\x00server\x00", chStat},
	})
	m.proc = proc2
	if cpu, ok := m.read(); !ok || len(cpu) != 2 || !strings.Contains(m.note, "summed over 2") {
		t.Errorf("two servers: %v %v (%s)", cpu, ok, m.note)
	}

	// Local address but no server process: not measured, no failure.
	m.proc = fakeProc(t, map[string][3]string{"77": {"bash\n", "bash\x00", "77 (bash) S 1"}})
	if _, ok := m.read(); ok || !strings.Contains(m.note, "not measured") {
		t.Errorf("no server process: ok %v, note %q", ok, m.note)
	}

	// A server elsewhere (TEST-NET-1) is not measured even when a local
	// ClickHouse runs.
	r := newClickHouseMeter([]string{"192.0.2.1:9000"})
	r.proc = proc
	if _, ok := r.read(); ok || !strings.Contains(r.note, "not on this machine") {
		t.Errorf("remote server: ok %v, note %q", ok, r.note)
	}
}

func TestIsLocalHost(t *testing.T) {
	for h, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "0.0.0.0": true, "192.0.2.1": false} {
		if got := isLocalHost(h); got != want {
			t.Errorf("isLocalHost(%q) = %v", h, got)
		}
	}
}
