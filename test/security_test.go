package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iwom/iwom/test/chserver"
)

// A full run with authenticated NATS and ClickHouse, logging at debug level,
// never prints the configured secrets — nor does a failed login.
func TestSecretsNeverLogged(t *testing.T) {
	bin := iwomBinary(t)
	natsPass := "nats-Secr3t-pw-77d1"
	db := fmt.Sprintf("iwom_sec_%d", os.Getpid())
	pwFile := filepath.Join(t.TempDir(), "ch-password")
	if err := os.WriteFile(pwFile, []byte(chserver.SecretPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"IWOM_DATA_DIR="+t.TempDir(),
		"IWOM_NATS_EMBEDDED_LISTEN=127.0.0.1:-1",
		"IWOM_NATS_USER=iwom",
		"IWOM_NATS_PASSWORD="+natsPass,
		"IWOM_CLICKHOUSE_ADDR="+ch.Addr(),
		"IWOM_CLICKHOUSE_USER="+chserver.SecretUser,
		"IWOM_CLICKHOUSE_PASSWORD_FILE="+pwFile,
		"IWOM_CLICKHOUSE_DATABASE="+db,
		"IWOM_LOG_LEVEL=debug",
		"IWOM_LOG_FORMAT=json",
	)
	run := func(wantOK bool, extraEnv []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("iwom %s: err %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		_ = exec.Command("clickhouse-client", "--port", strings.TrimPrefix(ch.Addr(), "127.0.0.1:"), "-q", "DROP DATABASE IF EXISTS "+db).Run()
	})
	var logs strings.Builder
	logs.WriteString(run(true, nil, "run", "--source", "gen", "--count", "300", "--seed", "5", "--drain"))
	// status connects to a running iwom only: with none, it fails (and
	// its error must not name the password either).
	logs.WriteString(run(false, nil, "status"))
	wrong := "wrong-Secr3t-pw-0000"
	logs.WriteString(run(false, []string{"IWOM_CLICKHOUSE_PASSWORD_FILE=", "IWOM_CLICKHOUSE_PASSWORD=" + wrong}, "migrate"))
	out := logs.String()
	if !strings.Contains(out, "drained") {
		t.Fatalf("the run did not complete:\n%s", out)
	}
	for _, secret := range []string{natsPass, chserver.SecretPassword, wrong} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains the secret %q:\n%s", secret, out)
		}
	}
}
