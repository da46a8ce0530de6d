package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Every key of configs/iwom.yaml is a field of Config and every field has a
// key: the commented file and the struct agree.
func TestDefaultsMatchStruct(t *testing.T) {
	var fields []string
	var walk func(reflect.Type, string)
	walk = func(rt reflect.Type, prefix string) {
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			key := prefix + f.Tag.Get("mapstructure")
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
				walk(f.Type, key+".")
				continue
			}
			fields = append(fields, key)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	keys := Keys()
	sort.Strings(fields)
	sort.Strings(keys)
	if !reflect.DeepEqual(fields, keys) {
		t.Errorf("config struct fields and configs/iwom.yaml keys differ:\nfields: %v\nkeys:   %v", fields, keys)
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if c.NATS.URL != "" || c.ClickHouse.Addr != "localhost:9000" || c.ClickHouse.Database != "iwom" {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestFileAndEnvOverride(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(f, []byte("nats:\n  max_deliver: 9\nclickhouse:\n  batch_size: 77\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IWOM_CLICKHOUSE_ADDR", "ch1:9000,ch2:9000")
	t.Setenv("IWOM_NATS_ACK_WAIT", "45s")
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.MaxDeliver != 9 || c.ClickHouse.BatchSize != 77 {
		t.Errorf("file values not applied: %+v", c)
	}
	if got := c.ClickHouse.Addrs(); !reflect.DeepEqual(got, []string{"ch1:9000", "ch2:9000"}) {
		t.Errorf("env override: addrs %v", got)
	}
	if c.NATS.AckWait != 45*time.Second {
		t.Errorf("env override: ack_wait %v", c.NATS.AckWait)
	}
	if c.NATS.FetchBatch != 500 {
		t.Errorf("untouched key lost its default: %d", c.NATS.FetchBatch)
	}
}

func TestValidateNamesKey(t *testing.T) {
	cases := map[string]string{
		"nats:\n  max_deliver: 0\n":                    "nats.max_deliver",
		"log:\n  level: loud\n":                        "log.level",
		"clickhouse:\n  database: 'a;b'\n":             "clickhouse.database",
		"nats:\n  storage: tape\n":                     "nats.storage",
		"alerts:\n  negative_spike:\n    ratio: 0.5\n": "alerts.negative_spike.ratio",
		"nats:\n  max_delivr: 3\n":                     `unknown key "nats.max_delivr"`,
	}
	for doc, key := range cases {
		f := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(f)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Load(%q) = %v, want an error naming %s", doc, err, key)
		}
		if err != nil && !strings.Contains(key, "unknown") && !errors.Is(err, ErrInvalid) {
			t.Errorf("Load(%q) error %v does not wrap ErrInvalid", doc, err)
		}
	}
}

// writeConfig writes doc to a temporary file and returns its path.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// loadErr loads doc (empty: no file) and requires an error that wraps
// ErrInvalid and contains every one of want.
func loadErr(t *testing.T, doc string, want ...string) error {
	t.Helper()
	file := ""
	if doc != "" {
		file = writeConfig(t, doc)
	}
	c, err := Load(file)
	if err == nil {
		t.Errorf("Load(%q) succeeded (%+v), want an error containing %q", doc, c, want)
		return nil
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Load(%q) error %q does not wrap ErrInvalid", doc, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Load(%q) error %q does not contain %q", doc, err, w)
		}
	}
	return err
}

// loadOK loads doc (empty: no file) and requires success.
func loadOK(t *testing.T, doc string) *Config {
	t.Helper()
	file := ""
	if doc != "" {
		file = writeConfig(t, doc)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatalf("Load(%q): %v", doc, err)
	}
	return c
}

// Issue 13, finding 1: a bare number for a duration was read as
// nanoseconds (shutdown_grace: 30 became 30ns).
func TestDurationNeedsUnit(t *testing.T) {
	for doc, want := range map[string][]string{
		"shutdown_grace: 30\n":                  {"shutdown_grace", "30s"},
		"nats:\n  ack_wait: 45\n":               {"nats.ack_wait", "45s"},
		"nats:\n  ack_wait: 1.5\n":              {"nats.ack_wait", "1.5s"},
		"alerts:\n  reload_interval: 10\n":      {"alerts.reload_interval", "10s"},
		"nats:\n  max_age: \"168\"\n":           {"nats.max_age", "168s"},
		"nats:\n  fetch_wait: soon\n":           {"nats.fetch_wait", "not a duration"},
		"limits:\n  max_future_skew: 900\n":     {"limits.max_future_skew", "900s"},
		"clickhouse:\n  flush_interval: [1]\n":  {"clickhouse.flush_interval", "list"},
		"shutdown_grace: 0\n":                   {"shutdown_grace", "must be positive"},
		"clickhouse:\n  dial_timeout: true\n":   {"clickhouse.dial_timeout", "duration"},
		"log:\n  stats_interval: 1e3\n":         {"log.stats_interval", "s"},
		"nats:\n  duplicate_window: -120\n":     {"nats.duplicate_window", "bare number"},
		"alerts:\n  lease_ttl: 9999999999h\n":   {"alerts.lease_ttl", "not a duration"},
		"clickhouse:\n  retry_min: 200000000\n": {"clickhouse.retry_min", "200000000s"},
	} {
		loadErr(t, doc, want...)
	}

	t.Run("env", func(t *testing.T) {
		t.Setenv("IWOM_SHUTDOWN_GRACE", "30")
		loadErr(t, "", "shutdown_grace", "30s", "IWOM_SHUTDOWN_GRACE")
	})
	t.Run("env empty", func(t *testing.T) {
		t.Setenv("IWOM_NATS_ACK_WAIT", "")
		loadErr(t, "", "nats.ack_wait", "empty")
	})

	// 0 needs no unit: it is accepted where the key allows 0.
	c := loadOK(t, "alerts:\n  reload_interval: 0\nnats:\n  max_age: 0\n")
	if c.Alerts.ReloadInterval != 0 || c.NATS.MaxAge != 0 {
		t.Errorf("0 not read as zero: reload_interval %v, max_age %v", c.Alerts.ReloadInterval, c.NATS.MaxAge)
	}
	t.Setenv("IWOM_ALERTS_RELOAD_INTERVAL", "0")
	t.Setenv("IWOM_NATS_ACK_WAIT", " 1m30s ")
	c = loadOK(t, "")
	if c.Alerts.ReloadInterval != 0 || c.NATS.AckWait != 90*time.Second {
		t.Errorf("env durations: reload_interval %v, ack_wait %v", c.Alerts.ReloadInterval, c.NATS.AckWait)
	}
}

// Issue 13, finding 2: an integer that does not fit its field wrapped
// (nats.max_msg_size: 4294967297 became 1).
func TestIntegerOutOfRange(t *testing.T) {
	for doc, key := range map[string]string{
		"nats:\n  max_msg_size: 4294967297\n":               "nats.max_msg_size",
		"nats:\n  max_msg_size: 2147483648\n":               "nats.max_msg_size",
		"nats:\n  max_msg_size: -2147483649\n":              "nats.max_msg_size",
		"nats:\n  max_bytes: 9223372036854775808\n":         "nats.max_bytes",
		"nats:\n  max_bytes: 18446744073709551617\n":        "nats.max_bytes",
		"nats:\n  max_bytes: 99999999999999999999\n":        "nats.max_bytes",
		"clickhouse:\n  batch_size: -9223372036854775809\n": "clickhouse.batch_size",
		"limits:\n  max_text_bytes: 18446744073709551615\n": "limits.max_text_bytes",
		"nats:\n  replicas: 18446744073709551617\n":         "nats.replicas",
		"api:\n  max_concurrent: \"9223372036854775808\"\n": "api.max_concurrent",
	} {
		loadErr(t, doc, key, "out of range")
	}
	// Every bad value is named, not only the first.
	loadErr(t, "shutdown_grace: 30\nnats:\n  max_msg_size: 4294967297\napi:\n  max_concurrent: 1.9\n",
		"shutdown_grace", "nats.max_msg_size", "api.max_concurrent")
	t.Run("env", func(t *testing.T) {
		t.Setenv("IWOM_NATS_MAX_MSG_SIZE", "4294967297")
		loadErr(t, "", "nats.max_msg_size", "out of range", "IWOM_NATS_MAX_MSG_SIZE")
	})
	c := loadOK(t, "nats:\n  max_msg_size: 2147483647\n  max_bytes: 9223372036854775807\nlimits:\n  max_text_bytes: 1000\n")
	if c.NATS.MaxMsgSize != 2147483647 || c.NATS.MaxBytes != 9223372036854775807 {
		t.Errorf("largest values: max_msg_size %d, max_bytes %d", c.NATS.MaxMsgSize, c.NATS.MaxBytes)
	}
}

// Issue 13, finding 3: a non-integer for an integer field was truncated
// (api.max_concurrent: 1.9 became 1); numbers in text fields and the
// other weak conversions are refused too. Integer and boolean strings stay
// accepted, since environment variables are strings.
func TestScalarTypesAreStrict(t *testing.T) {
	for doc, want := range map[string][]string{
		"api:\n  max_concurrent: 1.9\n":      {"api.max_concurrent", "whole number"},
		"nats:\n  max_deliver: \"2.5\"\n":    {"nats.max_deliver", "whole number"},
		"nats:\n  fetch_batch: \"0x10\"\n":   {"nats.fetch_batch", "whole number"},
		"nats:\n  fetch_batch: true\n":       {"nats.fetch_batch", "whole number"},
		"nats:\n  fetch_batch: [1, 2]\n":     {"nats.fetch_batch", "list"},
		"enrich:\n  workers: .nan\n":         {"enrich.workers", "whole number"},
		"alerts:\n  partitions: .inf\n":      {"alerts.partitions", "whole number"},
		"nats:\n  max_bytes: 1e19\n":         {"nats.max_bytes", "1e19 is not a whole number"},
		"nats:\n  replicas: 3.0\n":           {"nats.replicas", "3.0 is not a whole number"},
		"nats:\n  max_deliver: 1_0\n":        {"nats.max_deliver", "whole number"},
		"nats:\n  fetch_batch: 0x10\n":       {"nats.fetch_batch", "whole number"},
		"nats:\n  max_msg_size: {a: 1}\n":    {"nats.max_msg_size", "mapping"},
		"clickhouse:\n  addr: [a, b]\n":      {"clickhouse.addr", "list"},
		"nats: 5\n":                          {"nats", "mapping of keys"},
		"connectors: x\n":                    {"connectors", "must be a list"},
		"clickhouse:\n  tls: 1\n":            {"clickhouse.tls", "true or false"},
		"clickhouse:\n  tls: \"yes\"\n":      {"clickhouse.tls", "true or false"},
		"clickhouse:\n  user: 1000\n":        {"clickhouse.user", "quote"},
		"clickhouse:\n  database: 0123\n":    {"clickhouse.database", "quote"},
		"log:\n  level: true\n":              {"log.level", "quote"},
		"nats:\n  url: {a: b}\n":             {"nats.url", "mapping"},
		"nats:\n  max_deliver:\n":            {"nats.max_deliver", "no value"},
		"alerts:\n  clickhouse: ~\n":         {"alerts.clickhouse", "no value"},
		"alerts:\n  reload_interval: null\n": {"alerts.reload_interval", "no value"},
	} {
		loadErr(t, doc, want...)
	}
	for env, key := range map[string]string{
		"IWOM_API_MAX_CONCURRENT=1.9":  "api.max_concurrent",
		"IWOM_NATS_MAX_DELIVER=five":   "nats.max_deliver",
		"IWOM_NATS_REPLICAS=":          "nats.replicas",
		"IWOM_CLICKHOUSE_TLS=yes":      "clickhouse.tls",
		"IWOM_CLICKHOUSE_TLS=":         "clickhouse.tls",
		"IWOM_ALERTS_PARTITIONS=010.0": "alerts.partitions",
	} {
		t.Run(env, func(t *testing.T) {
			name, val, _ := strings.Cut(env, "=")
			t.Setenv(name, val)
			loadErr(t, "", key, name)
		})
	}

	t.Setenv("IWOM_API_MAX_CONCURRENT", "8")
	t.Setenv("IWOM_NATS_MAX_DELIVER", " 7 ")
	t.Setenv("IWOM_ALERTS_PARTITIONS", "010")
	t.Setenv("IWOM_CLICKHOUSE_TLS", "true")
	t.Setenv("IWOM_ALERTS_CLICKHOUSE", "false")
	c := loadOK(t, "nats:\n  replicas: 03\n  password: \"0123\"\n  user: ''\n  tls_ca:\n  fetch_batch: 010\n")
	if c.API.MaxConcurrent != 8 || c.NATS.MaxDeliver != 7 || c.Alerts.Partitions != 10 || !c.ClickHouse.TLS || c.Alerts.ClickHouse {
		t.Errorf("env strings not converted: %+v %+v %+v %+v", c.API, c.NATS, c.Alerts, c.ClickHouse)
	}
	// Integers are decimal (YAML alone reads 010 as octal 8).
	if c.NATS.Replicas != 3 || c.NATS.FetchBatch != 10 || c.NATS.Password != "0123" || c.NATS.User != "" || c.NATS.TLSCA != "" {
		t.Errorf("file values: replicas %d, fetch_batch %d, password %q, user %q, tls_ca %q", c.NATS.Replicas, c.NATS.FetchBatch, c.NATS.Password, c.NATS.User, c.NATS.TLSCA)
	}
	// A section with every key commented out keeps its defaults.
	c = loadOK(t, "alerts:\n  # reload_interval: 1m\nnats:\n")
	if c.Alerts.StateBucket != "iwom_alerts_state" || c.NATS.FetchBatch != 500 {
		t.Errorf("an empty section lost its defaults: %+v %+v", c.Alerts, c.NATS)
	}
}

// Issue 13, finding 4: the file went through os.ExpandEnv, so "abc$def"
// became "abc". Only ${NAME} is replaced; anything else is literal.
func TestExpandOnlyBracedVariables(t *testing.T) {
	t.Setenv("CFGTEST_USER", "alice")
	t.Setenv("CFGTEST_EMPTY", "")
	t.Setenv("def", "XXX")
	t.Setenv("CFGTEST_INJECT", "x\nclickhouse:\n  addr: evil:9000 # ")
	t.Setenv("CFGTEST_WORKERS", "3")
	doc := `# a comment may mention ${CFGTEST_UNSET_IN_COMMENT}
nats:
  user: ${CFGTEST_USER}
  password: abc$def$ $$ ${1X} ${ x} $ {def} ${def ${${CFGTEST_USER}}
  tls_ca: '${CFGTEST_EMPTY}'
  tls_cert: "pre-${CFGTEST_INJECT}-post"
  tls_key: k
enrich:
  workers: ${CFGTEST_WORKERS}
connectors:
  - kind: http
    name: a
    token: ${CFGTEST_USER}-$USER
`
	c := loadOK(t, doc)
	if c.NATS.User != "alice" {
		t.Errorf("user %q, want alice", c.NATS.User)
	}
	if want := "abc$def$ $$ ${1X} ${ x} $ {def} ${def ${alice}"; c.NATS.Password != want {
		t.Errorf("password %q, want %q", c.NATS.Password, want)
	}
	if c.NATS.TLSCA != "" || c.NATS.TLSCert != "pre-x\nclickhouse:\n  addr: evil:9000 # -post" {
		t.Errorf("tls_ca %q, tls_cert %q", c.NATS.TLSCA, c.NATS.TLSCert)
	}
	if c.ClickHouse.Addr != "localhost:9000" {
		t.Errorf("a variable's value injected YAML: clickhouse.addr %q", c.ClickHouse.Addr)
	}
	if c.Enrich.Workers != 3 {
		t.Errorf("workers %d, want 3", c.Enrich.Workers)
	}
	if len(c.Connectors) != 1 || c.Connectors[0]["token"] != "alice-$USER" || c.Connectors[0].Kind() != "http" || c.Connectors[0].Name() != "a" {
		t.Errorf("connectors %v", c.Connectors)
	}
	loadErr(t, "nats:\n  password: ${CFGTEST_UNSET_VARIABLE}\n", "CFGTEST_UNSET_VARIABLE", "nats.password", "not set")
	loadErr(t, "connectors:\n  - kind: http\n    token: x${CFGTEST_UNSET_VARIABLE}\n", "CFGTEST_UNSET_VARIABLE", "connectors[0].token")
}

// Issue 13, finding 5: a variable set to the empty string did not
// override the file (IWOM_METRICS_LISTEN= kept the file's listener).
func TestEmptyEnvOverridesFile(t *testing.T) {
	f := writeConfig(t, "metrics:\n  listen: 127.0.0.1:9090\napi:\n  tokens: token-0123456789abcdef\n")
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Listen != "127.0.0.1:9090" || c.API.Tokens == "" {
		t.Fatalf("file not applied: %+v %+v", c.Metrics, c.API)
	}
	t.Setenv("IWOM_METRICS_LISTEN", "")
	t.Setenv("IWOM_API_TOKENS", "")
	if c, err = Load(f); err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Listen != "" || c.API.Tokens != "" {
		t.Errorf("empty variables ignored: metrics.listen %q, api.tokens %q", c.Metrics.Listen, c.API.Tokens)
	}
}

// Issue 13, finding 6: an IWOM_<SECTION>_ variable that names no key was
// ignored without a word.
func TestUnknownEnvVariable(t *testing.T) {
	for env, want := range map[string][]string{
		"IWOM_NATS_ULR":              {"IWOM_NATS_ULR", "did you mean IWOM_NATS_URL"},
		"IWOM_NATS_MAXMSGSIZE":       {"IWOM_NATS_MAXMSGSIZE", "did you mean IWOM_NATS_MAX_MSG_SIZE"},
		"IWOM_CLICKHOUSE_PASWORD":    {"IWOM_CLICKHOUSE_PASWORD", "did you mean IWOM_CLICKHOUSE_PASSWORD"},
		"IWOM_DATA_DIRR":             {"IWOM_DATA_DIRR", "did you mean IWOM_DATA_DIR"},
		"IWOM_SHUTDOWN_GRACE_PERIOD": {"IWOM_SHUTDOWN_GRACE_PERIOD", "did you mean IWOM_SHUTDOWN_GRACE"},
		"IWOM_NATS_MAX_MSG":          {"did you mean IWOM_NATS_MAX_MSG_SIZE"},
		"IWOM_LIMITS_MAX_FUTURE_SKW": {"did you mean IWOM_LIMITS_MAX_FUTURE_SKEW"},
		"IWOM_ALERTS_NEGATIVE_SPIKE": {"IWOM_ALERTS_NEGATIVE_SPIKE", "alerts.reload_interval", "alerts.slot"},
		"IWOM_API_":                  {"IWOM_API_"},
		"iwom_nats_url":              {"iwom_nats_url", "upper case", "IWOM_NATS_URL"},
		"Iwom_Metrics_Listen":        {"Iwom_Metrics_Listen", "IWOM_METRICS_LISTEN"},
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "x")
			loadErr(t, "", want...)
		})
	}

	// Variables of other tools and tests, and connector keys, are not
	// config keys and pass; so does every key's own variable.
	environ := []string{
		"IWOM_BIN=/tmp/iwom", "IWOM_CONFIG=/etc/iwom.yaml", "IWOM_SHARED_DATA=/d", "IWOM_SCREENSHOT=a.png",
		"IWOM_CHAOS_REPORT=r", "IWOM_CH_PORT=9000", "IWOM_CH_HTTP_PORT=8123", "IWOM_CH_DIR=/c",
		"IWOM_BENCH_POSTS=1", "IWOM_BENCH_DAYS=1", "IWOM_BENCH_CLICKHOUSE=h:1", "IWOM_BENCH_LOAD=0", "IWOM_BENCH_KEEP=1",
		"IWOM_TEST_INGEST_TOKENS=t", "IWOM_READER_PASSWORD=p", "IWOM_CONNECTORS_WECHAT_TOKEN=t",
		"IWOM_RAW=", "IWOM_ALERTS=", "IWOM=", "IWOM_=", "PATH=/bin", "iwom=1",
	}
	for _, k := range Keys() {
		environ = append(environ, EnvPrefix+"_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))+"=1")
	}
	if err := checkEnv(environ); err != nil {
		t.Errorf("checkEnv refused a variable it must accept: %v", err)
	}
	t.Setenv("IWOM_NATS_MAX_MSG_SIZE", "131072")
	if c := loadOK(t, ""); c.NATS.MaxMsgSize != 131072 {
		t.Errorf("IWOM_NATS_MAX_MSG_SIZE: max_msg_size %d", c.NATS.MaxMsgSize)
	}
}

// Issue 13, item 7: limits.max_future_skew, 0 to 24h, default 15m.
func TestMaxFutureSkew(t *testing.T) {
	if got := loadOK(t, "").Limits.MaxFutureSkew; got != 15*time.Minute {
		t.Errorf("default max_future_skew %v, want 15m", got)
	}
	if got := loadOK(t, "limits:\n  max_future_skew: 0\n").Limits.MaxFutureSkew; got != 0 {
		t.Errorf("max_future_skew 0 read as %v", got)
	}
	if got := loadOK(t, "limits:\n  max_future_skew: 24h\n").Limits.MaxFutureSkew; got != 24*time.Hour {
		t.Errorf("max_future_skew 24h read as %v", got)
	}
	loadErr(t, "limits:\n  max_future_skew: 24h0m1s\n", "limits.max_future_skew", "0 to 24h")
	loadErr(t, "limits:\n  max_future_skew: -1s\n", "limits.max_future_skew", "0 to 24h")
	t.Setenv("IWOM_LIMITS_MAX_FUTURE_SKEW", "1h")
	if got := loadOK(t, "").Limits.MaxFutureSkew; got != time.Hour {
		t.Errorf("IWOM_LIMITS_MAX_FUTURE_SKEW=1h read as %v", got)
	}
}

// Issue 13, item 8: no configuration error repeats a secret's value,
// whichever key it was given to and whatever is wrong with it.
func TestErrorsDoNotEchoSecrets(t *testing.T) {
	const secret = "s3cr3t-Value-0123456789"
	cases := []struct {
		name string
		doc  string
		env  map[string]string
		leak []string // strings that must not appear (the secret by default)
	}{
		{name: "password list", doc: "nats:\n  password: [" + secret + "]\n"},
		{name: "password mapping", doc: "clickhouse:\n  password: {" + secret + ": x}\n"},
		{name: "tokens list", doc: "api:\n  tokens:\n    - " + secret + "\n"},
		{name: "numeric password", doc: "api:\n  clickhouse_user: r\n  clickhouse_password: 07771234\n", leak: []string{"07771234", "2093724", "7771234"}},
		{name: "short token", doc: "api:\n  tokens: short-" + secret[:6] + "\n", leak: []string{secret[:6]}},
		{name: "password without user", doc: "api:\n  clickhouse_password: " + secret + "\n"},
		{name: "secret in a number", env: map[string]string{"IWOM_NATS_MAX_BYTES": secret}},
		{name: "secret in a duration", env: map[string]string{"IWOM_NATS_TIMEOUT": secret}},
		{name: "secret in a bool", env: map[string]string{"IWOM_CLICKHOUSE_TLS": secret}},
		{name: "misspelt variable", env: map[string]string{"IWOM_NATS_PASWORD": secret}},
		{name: "with other errors", doc: "nats:\n  password: " + secret + "\n  replicas: 9\n", env: map[string]string{"IWOM_API_TOKENS": secret + "-token"}},
		{name: "unset variable", doc: "nats:\n  password: " + secret + "${CFGTEST_UNSET_VARIABLE}\n"},
		{name: "unknown key", doc: "nats:\n  pasword: " + secret + "\n"},
		{name: "unterminated quote", doc: "nats:\n  password: \"" + secret + "\n"},
		{name: "bad indentation", doc: "nats:\n  password: " + secret + "\n   user: x\n"},
		{name: "tab", doc: "nats:\n\tpassword: " + secret + "\n"},
		{name: "stray colon", doc: "nats:\n  password: " + secret + ": x\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			file := ""
			if tc.doc != "" {
				file = writeConfig(t, tc.doc)
			}
			_, err := Load(file)
			if err == nil {
				t.Fatalf("Load succeeded, want an error")
			}
			leak := tc.leak
			if leak == nil {
				leak = []string{secret, secret[:12]}
			}
			for _, s := range leak {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error repeats the secret %q: %v", s, err)
				}
			}
		})
	}
}

// The file pre-processor meets whatever is in the file: it must not panic,
// and what it returns from valid YAML must still be valid YAML.
func FuzzPrepareFile(f *testing.F) {
	for _, seed := range []string{
		"", "# c ${X}\n", "nats:\n  url: ${HOME}\n  user: a$b${\n", "nats: ~\n", "nats:\n  max_bytes: 1e99\n",
		"a: &x ${PATH}\nb: *x\n", "nats:\n  <<: {max_deliver: 3}\n", "connectors:\n  - {kind: http, token: '${HOME}'}\n",
		"- 1\n", "nats: [1]\n", "x: \"\\u0000${\"\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		out, err := prepareFile([]byte(doc), "fuzz.yaml")
		var v any
		if err != nil || yaml.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatalf("prepareFile(%q) returned invalid YAML %q: %v", doc, out, err)
		}
	})
}
