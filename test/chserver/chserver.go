// Package chserver starts a private ClickHouse server (the clickhouse-server
// binary from Debian's package or the official tarball) in a directory of
// its own, on free ports, so that tests can stop, kill and restart it
// without touching any other ClickHouse on the machine.
package chserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Users besides default, for tests of authentication, secret handling and
// read-only access.
const (
	SecretUser       = "iwom_secret"
	SecretPassword   = "ch-Secr3t-pw-9f2c"
	ReadOnlyUser     = "iwom_reader"
	ReadOnlyPassword = "ro-Secr3t-pw-41aa"
)

// Server is a running (or stopped) private ClickHouse.
type Server struct {
	Dir      string
	TCPPort  int
	HTTPPort int
	Bin      string
	cmd      *exec.Cmd
	done     chan struct{}
}

// ErrNoBinary means no clickhouse-server binary was found.
var ErrNoBinary = errors.New("clickhouse-server not installed (make test installs it: apt-get install clickhouse-server)")

// FindBinary returns the path of clickhouse-server (or of the single
// clickhouse binary, run as "clickhouse server").
func FindBinary() (string, error) {
	for _, name := range []string{"clickhouse-server", "clickhouse"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, p := range []string{"/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBinary
}

// Start writes a config under dir and starts the server, waiting until it
// accepts connections.
func Start(dir string) (*Server, error) {
	bin, err := FindBinary()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Bin: bin}
	if s.TCPPort, err = freePort(); err != nil {
		return nil, err
	}
	if s.HTTPPort, err = freePort(); err != nil {
		return nil, err
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is host:port of the native protocol.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.TCPPort) }

func (s *Server) writeConfig() error {
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return fmt.Errorf("creating ClickHouse directory: %w", err)
		}
	}
	cfg := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <http_port>%[2]d</http_port>
  <tcp_port>%[3]d</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`, s.Dir, s.HTTPPort, s.TCPPort)
	users := `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default><readonly><readonly>1</readonly></readonly></profiles>
  <users>
    <default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default>
    <` + SecretUser + `><password>` + SecretPassword + `</password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></` + SecretUser + `>
    <` + ReadOnlyUser + `><password>` + ReadOnlyPassword + `</password><networks><ip>::/0</ip></networks><profile>readonly</profile><quota>default</quota></` + ReadOnlyUser + `>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(s.Dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("writing ClickHouse config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "users.xml"), []byte(users), 0o644); err != nil {
		return fmt.Errorf("writing ClickHouse users: %w", err)
	}
	return nil
}

// Start (re)starts a stopped server on the same ports and data.
func (s *Server) Start() error {
	args := []string{"--config-file=" + filepath.Join(s.Dir, "config.xml")}
	if filepath.Base(s.Bin) == "clickhouse" {
		args = append([]string{"server"}, args...)
	}
	cmd := exec.Command(s.Bin, args...)
	out, err := os.OpenFile(filepath.Join(s.Dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening ClickHouse stdout log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("starting %s: %w", s.Bin, err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "log", "error.log"))
			return fmt.Errorf("clickhouse-server exited at start: %s", tail(string(log), 2000))
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Kill()
	return errors.New("clickhouse-server did not accept connections within 60s")
}

// Stop shuts the server down gracefully.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.Kill()
	}
	s.cmd = nil
	return nil
}

// Kill stops the server at once (SIGKILL).
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Running reports whether the process is alive.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// WaitPort waits until addr accepts TCP connections.
func WaitPort(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
