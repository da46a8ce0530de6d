package bench

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every Linux architecture Go supports (getconf CLK_TCK).
const clockTicks = 100

// parseStatCPU returns user+system CPU seconds from the text of a
// /proc/<pid>/stat file. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses, so fields are counted from the
// last ')'.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing stat line: no ')' after the command name")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parsing stat line: %d fields after the command name, want at least 13", len(f))
	}
	ut, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing utime %q: %w", f[11], err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing stime %q: %w", f[12], err)
	}
	return float64(ut+st) / clockTicks, nil
}

// procCPU reads a process's user+system CPU seconds from procfs.
func procCPU(proc string, pid int) (float64, error) {
	data, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(data))
}

// isClickHouseServer reports whether a process with this comm (the first
// 15 bytes of the executable's name) and NUL-separated cmdline is a
// ClickHouse server: clickhouse-server, or the combined binary run as
// `clickhouse server`.
func isClickHouseServer(comm, cmdline string) bool {
	comm = strings.TrimSpace(comm)
	if strings.HasPrefix(comm, "clickhouse-serv") {
		return true
	}
	args := strings.Split(strings.TrimRight(cmdline, "\x00"), "\x00")
	if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "clickhouse") {
		return false
	}
	if strings.HasPrefix(filepath.Base(args[0]), "clickhouse-server") {
		return true
	}
	return len(args) > 1 && args[1] == "server"
}

// clickHouseMeter reads the CPU time of the ClickHouse server that iwom
// talks to, when that server runs on this machine.
type clickHouseMeter struct {
	proc  string       // procfs root, /proc outside tests
	ports map[int]bool // ports of the configured local addresses
	local bool         // some configured address is on this machine
	addr  string       // as configured, for the note
	note  string
}

func newClickHouseMeter(addrs []string) *clickHouseMeter {
	m := &clickHouseMeter{proc: "/proc", ports: map[int]bool{}, addr: strings.Join(addrs, ",")}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil || !isLocalHost(host) {
			continue
		}
		m.local = true
		if p, err := strconv.Atoi(port); err == nil {
			m.ports[p] = true
		}
	}
	return m
}

// isLocalHost reports whether host names this machine: localhost, a
// loopback address or an address of one of its interfaces.
func isLocalHost(host string) bool {
	if host == "" || host == "localhost" {
		return true
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		resolved, err := net.LookupIP(host)
		if err != nil {
			return false
		}
		ips = resolved
	}
	own, _ := net.InterfaceAddrs()
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsUnspecified() {
			return true
		}
		for _, a := range own {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return true
			}
		}
	}
	return false
}

// read returns the CPU seconds of each ClickHouse server process (pid →
// seconds), or ok false when the server is not on this machine or no
// server process is visible; m.note then says why.
func (m *clickHouseMeter) read() (cpu map[int]float64, ok bool) {
	if !m.local {
		m.note = fmt.Sprintf("not measured: ClickHouse at %s is not on this machine", m.addr)
		return nil, false
	}
	pids := m.serverPIDs()
	if len(pids) == 0 {
		m.note = fmt.Sprintf("not measured: no clickhouse-server process visible in %s (in a container or another PID namespace?)", m.proc)
		return nil, false
	}
	cpu = map[int]float64{}
	for _, pid := range pids {
		if s, err := procCPU(m.proc, pid); err == nil {
			cpu[pid] = s
		}
	}
	if len(cpu) == 0 {
		m.note = "not measured: the clickhouse-server processes' stat files are unreadable"
		return nil, false
	}
	return cpu, true
}

// serverPIDs lists the ClickHouse server processes; when there are several,
// it keeps those listening on a configured port if it can tell.
func (m *clickHouseMeter) serverPIDs() []int {
	ents, err := os.ReadDir(m.proc)
	if err != nil {
		return nil
	}
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(m.proc, ent.Name())
		comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		if isClickHouseServer(string(comm), string(cmdline)) {
			pids = append(pids, pid)
		}
	}
	all := len(pids)
	if all == 0 {
		return nil
	}
	if all > 1 {
		if inodes := listenInodes(m.proc, m.ports); len(inodes) > 0 {
			var owning []int
			for _, pid := range pids {
				if ownsSocket(m.proc, pid, inodes) {
					owning = append(owning, pid)
				}
			}
			if len(owning) > 0 {
				pids = owning
			}
		}
	}
	switch {
	case len(pids) > 1:
		m.note = fmt.Sprintf("summed over %d clickhouse-server processes (pids %s): could not tell which serves %s", len(pids), joinInts(pids), m.addr)
	case all > 1:
		m.note = fmt.Sprintf("clickhouse-server pid %d, the one of %d listening on %s", pids[0], all, m.addr)
	default:
		m.note = fmt.Sprintf("clickhouse-server pid %d", pids[0])
	}
	m.note += "; the whole server: other clients' queries and its merges count too"
	return pids
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// listenInodes returns the socket inodes of TCP listeners on ports.
func listenInodes(proc string, ports map[int]bool) map[string]bool {
	out := map[string]bool{}
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(proc, "net", name))
		if err != nil {
			continue
		}
		for ino := range parseListeners(bufio.NewScanner(f), ports) {
			out[ino] = true
		}
		f.Close()
	}
	return out
}

// parseListeners reads /proc/net/tcp{,6} lines and returns the inodes of
// sockets in state LISTEN (0A) on one of ports.
func parseListeners(sc *bufio.Scanner, ports map[int]bool) map[string]bool {
	out := map[string]bool{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || !ports[int(p)] {
			continue
		}
		out[f[9]] = true
	}
	return out
}

// ownsSocket reports whether pid has one of the socket inodes open (needs
// permission to read its fd directory).
func ownsSocket(proc string, pid int, inodes map[string]bool) bool {
	dir := filepath.Join(proc, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, ent := range ents {
		l, err := os.Readlink(filepath.Join(dir, ent.Name()))
		if err != nil || !strings.HasPrefix(l, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
			return true
		}
	}
	return false
}
